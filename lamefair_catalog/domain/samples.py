"""Samples of a proposal: created and changed by operators and admins."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from lamefair_catalog.database.models import Sample
from lamefair_catalog.domain.access import (
    Principal,
    readable_proposal,
    require_writer,
    sample_chain,
)
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.change_feed import record_change
from lamefair_catalog.domain.creation import Created, create_entity
from lamefair_catalog.domain.errors import Invalid
from lamefair_catalog.domain.outputs import sample_out
from lamefair_catalog.domain.readmes import sample_readme
from lamefair_catalog.schemas import hierarchy as h
from lamefair_catalog.shared import InvalidName, slugify, validate_atom_types


def _atom_types(symbols: list[str]) -> list[str]:
    try:
        return validate_atom_types(symbols)
    except InvalidName as exc:
        raise Invalid(str(exc), field="atom_types") from None


def create_sample(catalog: Catalog, principal: Principal, body: h.SampleIn) -> Created:
    require_writer(principal)
    atom_types = _atom_types(body.atom_types)
    slug = slugify(body.name)
    with catalog.session() as session:
        proposal = readable_proposal(session, principal, body.proposal)
        out, created = create_entity(
            session,
            model=Sample,
            requested_id=body.id,
            build=lambda new_id: Sample(
                id=new_id,
                proposal_id=proposal.id,
                name=body.name,
                slug=slug,
                identifier=body.identifier,
                preparation_date=body.preparation_date,
                atom_types=atom_types,
                physical_form=body.physical_form,
                is_simulation=body.is_simulation,
                description=body.description,
                created_by=principal.username,
            ),
            to_out=sample_out,
            compare={
                **body.model_dump(exclude={"id", "atom_types"}),
                "atom_types": atom_types,
            },
            entity="sample",
            proposal_id=lambda new_id: proposal.id,
            find_duplicate=lambda ses: ses.scalar(
                select(Sample).where(Sample.proposal_id == body.proposal, Sample.slug == slug)
            ),
            duplicate_message=(
                f"A sample named {body.name!r} already exists in proposal {proposal.number}; "
                "choose another name or add the experiment to the existing sample."
            ),
        )
    if created:
        sample_readme(catalog, out, principal.username)
    return out, created


def list_samples(
    catalog: Catalog, principal: Principal, proposal_id: uuid.UUID
) -> list[h.SampleOut]:
    with catalog.session() as session:
        readable_proposal(session, principal, proposal_id)
        rows = session.scalars(
            select(Sample).where(Sample.proposal_id == proposal_id).order_by(Sample.name)
        )
        return [sample_out(row) for row in rows]


def get_sample(catalog: Catalog, principal: Principal, sample_id: uuid.UUID) -> h.SampleOut:
    with catalog.session() as session:
        sample, _ = sample_chain(session, principal, sample_id)
        return sample_out(sample)


def patch_sample(
    catalog: Catalog, principal: Principal, sample_id: uuid.UUID, body: h.SamplePatch
) -> h.SampleOut:
    """Renaming keeps the slug: data already stored under the old prefix stays findable."""
    require_writer(principal)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("atom_types") is not None:
        changes["atom_types"] = _atom_types(changes["atom_types"])
    with catalog.session() as session:
        sample, _ = sample_chain(session, principal, sample_id)
        for field, value in changes.items():
            if value is not None or field == "preparation_date":
                setattr(sample, field, value)
        out = sample_out(sample)
        record_change(session, "sample", sample.id, "update", sample.proposal_id, out)
        session.commit()
    sample_readme(catalog, out, principal.username)
    return out
