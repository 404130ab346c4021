"""Proposals: created by admins with their raw and mirror buckets; members decide who reads them."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from lamefair_catalog.database.models import Experiment, Project, Proposal, ProposalMember, Sample
from lamefair_catalog.domain.access import (
    Principal,
    existing,
    readable_proposal,
    require_admin,
    visible_proposal_ids,
)
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.change_feed import record_change
from lamefair_catalog.domain.creation import Created, create_entity
from lamefair_catalog.domain.errors import NotFound
from lamefair_catalog.domain.outputs import experiment_out, proposal_out, sample_out
from lamefair_catalog.domain.readmes import experiment_readme, proposal_readme, sample_readme
from lamefair_catalog.schemas import hierarchy as h
from lamefair_catalog.shared import bucket_name, slugify


def _members(names: list[str]) -> list[ProposalMember]:
    """Member rows in the order given, each name once."""
    return [
        ProposalMember(principal=name, position=i) for i, name in enumerate(dict.fromkeys(names))
    ]


def _new_proposal(
    new_id: uuid.UUID,
    body: h.ProposalIn,
    principal: Principal,
    project: Project,
    number_slug: str,
    buckets: tuple[str, str],
) -> Proposal:
    return Proposal(
        id=new_id,
        project_id=project.id,
        number=body.number,
        number_slug=number_slug,
        pi_name=body.pi_name,
        date=body.date,
        title=body.title,
        description=body.description,
        raw_bucket=buckets[0],
        mirror_bucket=buckets[1],
        created_by=principal.username,
        members=_members(body.members),
    )


def create_proposal(catalog: Catalog, principal: Principal, body: h.ProposalIn) -> Created:
    require_admin(principal)
    with catalog.session() as session:
        project = session.get(Project, body.project)
        if project is None:
            raise NotFound(f"Project {body.project} does not exist.", field="project")
        number_slug = slugify(body.number, 40)
        raw = bucket_name(catalog.settings.raw_prefix, project.slug, body.number)
        mirror = bucket_name(catalog.settings.mirror_prefix, project.slug, body.number)

        # Buckets first (idempotent): a proposal row never points at a missing bucket.
        catalog.storage.ensure_bucket(raw)
        catalog.storage.ensure_bucket(mirror)
        out, created = create_entity(
            session,
            model=Proposal,
            requested_id=body.id,
            build=lambda new_id: _new_proposal(
                new_id, body, principal, project, number_slug, (raw, mirror)
            ),
            to_out=proposal_out,
            compare={
                **body.model_dump(exclude={"id", "members"}),
                "members": list(dict.fromkeys(body.members)),
            },
            entity="proposal",
            proposal_id=lambda new_id: new_id,
            find_duplicate=lambda ses: ses.scalar(
                select(Proposal).where(
                    Proposal.project_id == body.project,
                    (Proposal.number == body.number) | (Proposal.number_slug == number_slug),
                )
            ),
            duplicate_field="number",
            duplicate_message=(
                f"Proposal {body.number!r} (or one with the same short form {number_slug!r}) "
                f"already exists in project {project.name!r}."
            ),
        )
    if created:
        proposal_readme(catalog, out, principal.username)
    return out, created


def list_proposals(
    catalog: Catalog, principal: Principal, project_id: uuid.UUID | None
) -> list[h.ProposalOut]:
    with catalog.session() as session:
        query = select(Proposal).order_by(Proposal.number)
        if project_id is not None:
            query = query.where(Proposal.project_id == project_id)
        visible = visible_proposal_ids(session, principal)
        if visible is not None:
            query = query.where(Proposal.id.in_(visible or [None]))
        return [proposal_out(row) for row in session.scalars(query)]


def get_proposal(catalog: Catalog, principal: Principal, proposal_id: uuid.UUID) -> h.ProposalOut:
    with catalog.session() as session:
        return proposal_out(readable_proposal(session, principal, proposal_id))


def patch_proposal(
    catalog: Catalog, principal: Principal, proposal_id: uuid.UUID, body: h.ProposalPatch
) -> h.ProposalOut:
    require_admin(principal)
    with catalog.session() as session:
        row = existing(session, Proposal, proposal_id, "Proposal")
        changes = body.model_dump(exclude_unset=True)
        members = changes.pop("members", None)
        for field, value in changes.items():
            if value is not None or field == "date":
                setattr(row, field, value)
        if members is not None:
            row.members = _members(members)
        session.flush()
        out = proposal_out(row)
        record_change(session, "proposal", row.id, "update", row.id, out)
        session.commit()
    proposal_readme(catalog, out, principal.username)
    return out


def ensure_buckets(catalog: Catalog, principal: Principal, proposal_id: uuid.UUID) -> h.ProposalOut:
    """Admin repair: create missing buckets and rewrite every README of the proposal."""
    require_admin(principal)
    with catalog.session() as session:
        out = proposal_out(existing(session, Proposal, proposal_id, "Proposal"))
        samples = list(session.scalars(select(Sample).where(Sample.proposal_id == proposal_id)))
        experiments = list(
            session.scalars(
                select(Experiment).where(Experiment.sample_id.in_([x.id for x in samples]))
            )
        )
    catalog.storage.ensure_bucket(out.raw_bucket)
    catalog.storage.ensure_bucket(out.mirror_bucket)
    proposal_readme(catalog, out, principal.username)
    by_id = {x.id: x for x in samples}
    for sample in samples:
        sample_readme(catalog, sample_out(sample), principal.username)
    for experiment in experiments:
        experiment_readme(
            catalog, experiment_out(experiment), by_id[experiment.sample_id], principal.username
        )
    return out
