"""Experiments on a sample: created and changed by operators and admins; times carry a zone."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from lamefair_catalog.database.models import Experiment
from lamefair_catalog.domain.access import (
    Principal,
    experiment_chain,
    require_writer,
    sample_chain,
)
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.change_feed import record_change
from lamefair_catalog.domain.creation import Created, create_entity
from lamefair_catalog.domain.errors import Invalid
from lamefair_catalog.domain.outputs import experiment_out
from lamefair_catalog.domain.readmes import experiment_readme
from lamefair_catalog.schemas import hierarchy as h
from lamefair_catalog.shared import slugify

TIMES = ("start_time", "end_time")


def _check_order(start, end) -> None:
    if start and end and end < start:
        raise Invalid("The experiment ends before it starts.", field="end_time")


def create_experiment(catalog: Catalog, principal: Principal, body: h.ExperimentIn) -> Created:
    require_writer(principal)
    _check_order(body.start_time, body.end_time)
    for name in TIMES:
        value = getattr(body, name)
        if value is not None and value.tzinfo is None:
            raise Invalid(
                f"{name} needs a time zone (e.g. 2026-05-01T09:30:00+02:00 or ...Z).",
                field=name,
            )
    slug = slugify(body.name)
    with catalog.session() as session:
        sample, proposal = sample_chain(session, principal, body.sample)
        out, created = create_entity(
            session,
            model=Experiment,
            requested_id=body.id,
            build=lambda new_id: Experiment(
                id=new_id,
                sample_id=sample.id,
                name=body.name,
                slug=slug,
                description=body.description,
                start_time=body.start_time,
                end_time=body.end_time,
                created_by=principal.username,
            ),
            to_out=experiment_out,
            compare=body.model_dump(exclude={"id"}),
            entity="experiment",
            proposal_id=lambda new_id: proposal.id,
            find_duplicate=lambda ses: ses.scalar(
                select(Experiment).where(
                    Experiment.sample_id == body.sample, Experiment.slug == slug
                )
            ),
            duplicate_message=(
                f"An experiment named {body.name!r} already exists for sample "
                f"{sample.name!r}; choose another name or add to the existing experiment."
            ),
        )
    if created:
        experiment_readme(catalog, out, sample, principal.username)
    return out, created


def list_experiments(
    catalog: Catalog, principal: Principal, sample_id: uuid.UUID
) -> list[h.ExperimentOut]:
    with catalog.session() as session:
        sample_chain(session, principal, sample_id)
        rows = session.scalars(
            select(Experiment).where(Experiment.sample_id == sample_id).order_by(Experiment.name)
        )
        return [experiment_out(row) for row in rows]


def get_experiment(
    catalog: Catalog, principal: Principal, experiment_id: uuid.UUID
) -> h.ExperimentOut:
    with catalog.session() as session:
        experiment, _, _ = experiment_chain(session, principal, experiment_id)
        return experiment_out(experiment)


def patch_experiment(
    catalog: Catalog, principal: Principal, experiment_id: uuid.UUID, body: h.ExperimentPatch
) -> h.ExperimentOut:
    require_writer(principal)
    with catalog.session() as session:
        experiment, sample, proposal = experiment_chain(session, principal, experiment_id)
        for field, value in body.model_dump(exclude_unset=True).items():
            if field in TIMES and value is not None and value.tzinfo is None:
                raise Invalid(f"{field} needs a time zone.", field=field)
            if value is not None or field in TIMES:
                setattr(experiment, field, value)
        _check_order(experiment.start_time, experiment.end_time)
        out = experiment_out(experiment)
        record_change(session, "experiment", experiment.id, "update", proposal.id, out)
        session.commit()
    experiment_readme(catalog, out, sample, principal.username)
    return out
