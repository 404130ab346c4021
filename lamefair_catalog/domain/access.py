"""Who may do what: the caller's roles, and the readable chain above every entity.

Admins (PIs) create projects and proposals and change them; operators create and change samples,
experiments and measurements and upload; both see everything. Everyone else reads the proposals
whose `members` name them or one of their groups, and nothing else. Every lookup of an entity by
id goes through a `*_chain` here, so that no command forgets the check.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from lamefair_catalog.database.models import (
    Experiment,
    File,
    Measurement,
    Proposal,
    ProposalMember,
    Sample,
)
from lamefair_catalog.domain.errors import Forbidden, NotFound

Row = TypeVar("Row")


@dataclass(frozen=True)
class Principal:
    username: str
    groups: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False
    is_operator: bool = False

    @property
    def roles(self) -> list[str]:
        roles = ["admin"] if self.is_admin else []
        roles += ["operator"] if self.is_operator or self.is_admin else []
        return [*roles, "reader"]

    @property
    def names(self) -> set[str]:
        """The principals a proposal's `members` may list: the username and every group, each
        group also without Keycloak's leading "/" (the rule of `group_matches`)."""
        return {self.username, *self.groups, *(g[1:] for g in self.groups if g.startswith("/"))}

    @property
    def sees_everything(self) -> bool:
        return self.is_admin or self.is_operator


def group_matches(configured: str, token_group: str) -> bool:
    """Whether a group from the token is the configured group: whole names, never parts of them.

    The token's group must equal the configured name, or the configured name with a leading "/"
    (Keycloak sends full paths such as "/lamepi"). So a bare name like "lamepi" means the
    top-level group of that name, matched by "lamepi" and "/lamepi" but not by "physics/lamepi",
    "/physics/lamepi" or "lamepi-guests"; a full path like "/physics/lamepi" is matched only by
    exactly that path. Case matters. The same rule decides proposal membership by group.
    """
    return token_group in (configured, "/" + configured)


def require_writer(principal: Principal) -> None:
    if not principal.sees_everything:
        raise Forbidden(
            "Only operators and PIs may create or change entries and upload data. "
            "Ask a lab administrator to add you to the operators group."
        )


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only lab administrators (PIs) may do this.")


def visible_proposal_ids(session: Session, principal: Principal) -> set[uuid.UUID] | None:
    """None means every proposal (admins and operators)."""
    if principal.sees_everything:
        return None
    rows = session.scalars(
        select(ProposalMember.proposal_id).where(
            ProposalMember.principal.in_(sorted(principal.names))
        )
    )
    return set(rows)


def existing(
    session: Session, model: type[Row], row_id: uuid.UUID, kind: str, options: Sequence = ()
) -> Row:
    """The row with this id, or NotFound ("Sample <id> does not exist."); `options` are the
    loader options of `Session.get` (to leave out a large relationship, say)."""
    row = session.get(model, row_id, options=options)
    if row is None:
        raise NotFound(f"{kind} {row_id} does not exist.")
    return row


def readable_proposal(session: Session, principal: Principal, proposal_id: uuid.UUID) -> Proposal:
    proposal = existing(session, Proposal, proposal_id, "Proposal")
    visible = visible_proposal_ids(session, principal)
    if visible is not None and proposal.id not in visible:
        raise Forbidden(
            f"You are not a member of proposal {proposal.number}; ask its PI to add you."
        )
    return proposal


def sample_chain(
    session: Session, principal: Principal, sample_id: uuid.UUID
) -> tuple[Sample, Proposal]:
    sample = existing(session, Sample, sample_id, "Sample")
    return sample, readable_proposal(session, principal, sample.proposal_id)


def experiment_chain(
    session: Session, principal: Principal, experiment_id: uuid.UUID
) -> tuple[Experiment, Sample, Proposal]:
    experiment = existing(session, Experiment, experiment_id, "Experiment")
    sample, proposal = sample_chain(session, principal, experiment.sample_id)
    return experiment, sample, proposal


def measurement_chain(
    session: Session, principal: Principal, measurement_id: uuid.UUID, options: Sequence = ()
) -> tuple[Measurement, Proposal]:
    measurement = existing(session, Measurement, measurement_id, "Measurement", options)
    _, _, proposal = experiment_chain(session, principal, measurement.experiment_id)
    return measurement, proposal


def file_chain(session: Session, principal: Principal, file_id: uuid.UUID) -> tuple[File, Proposal]:
    row = existing(session, File, file_id, "File")
    _, _, proposal = experiment_chain(session, principal, row.measurement.experiment_id)
    return row, proposal


def readable_bucket(session: Session, principal: Principal, bucket: str) -> Proposal:
    """The proposal a raw or mirror bucket belongs to, if the caller may read it."""
    proposal = session.scalar(
        select(Proposal).where((Proposal.raw_bucket == bucket) | (Proposal.mirror_bucket == bucket))
    )
    if proposal is None:
        raise NotFound(f"Bucket {bucket!r} is not a lamefair proposal bucket.")
    try:
        return readable_proposal(session, principal, proposal.id)
    except Forbidden:
        raise Forbidden(
            f"You may not read bucket {bucket!r}: you are not a member of proposal "
            f"{proposal.number}."
        ) from None
