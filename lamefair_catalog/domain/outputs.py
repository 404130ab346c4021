"""Rows to API models (`*_out`): what the API and the change feed say about each entity.

The change feed stores exactly these, so a client sees the same shape from a GET and from a feed
row. A file's `bucket` is its proposal's raw bucket, which the row does not hold.
"""

from __future__ import annotations

from lamefair_catalog.database.models import (
    DerivedFile,
    Experiment,
    File,
    Measurement,
    Project,
    Proposal,
    Sample,
)
from lamefair_catalog.schemas import hierarchy as h
from lamefair_catalog.schemas import transfers as t


def project_out(row: Project) -> h.ProjectOut:
    return h.ProjectOut(
        id=row.id,
        name=row.name,
        slug=row.slug,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def proposal_out(row: Proposal) -> h.ProposalOut:
    return h.ProposalOut(
        id=row.id,
        project=row.project_id,
        project_slug=row.project.slug,
        number=row.number,
        number_slug=row.number_slug,
        pi_name=row.pi_name,
        date=row.date,
        title=row.title,
        description=row.description,
        members=[m.principal for m in row.members],
        raw_bucket=row.raw_bucket,
        mirror_bucket=row.mirror_bucket,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def sample_out(row: Sample) -> h.SampleOut:
    return h.SampleOut(
        id=row.id,
        proposal=row.proposal_id,
        name=row.name,
        slug=row.slug,
        identifier=row.identifier,
        preparation_date=row.preparation_date,
        atom_types=list(row.atom_types or []),
        physical_form=row.physical_form,
        is_simulation=row.is_simulation,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def experiment_out(row: Experiment) -> h.ExperimentOut:
    return h.ExperimentOut(
        id=row.id,
        sample=row.sample_id,
        name=row.name,
        slug=row.slug,
        description=row.description,
        start_time=row.start_time,
        end_time=row.end_time,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def derived_out(row: DerivedFile) -> t.DerivedOut:
    return t.DerivedOut(
        id=row.id,
        source_file=row.source_file_id,
        bucket=row.bucket,
        key=row.key,
        size=row.size,
        sha256=row.sha256,
        valid=row.valid,
        state=row.state,
        created_at=row.created_at,
        server_valid=row.server_valid,
        server_validator=row.server_validator or "",
        server_report=row.server_report or "",
        server_checked_at=row.server_checked_at,
        thumbnail=has_thumbnail(row),
        thumbnail_sha256=(row.thumbnail_sha256 or "") if has_thumbnail(row) else "",
    )


def has_thumbnail(row: DerivedFile) -> bool:
    """A thumbnail was stored for the derived file's current bytes (not for older ones)."""
    return bool(row.thumbnail_of) and row.thumbnail_of == row.sha256


def file_out(row: File, bucket: str) -> t.FileOut:
    return t.FileOut(
        id=row.id,
        measurement=row.measurement_id,
        path=row.path,
        bucket=bucket,
        key=row.key,
        size=row.size,
        sha256=row.sha256 or None,  # "" in the table: not declared yet
        state=row.state,
        error=row.error,
        stored_at=row.stored_at,
        derived=[derived_out(d) for d in row.derived],
    )


def measurement_out(row: Measurement, bucket: str) -> t.MeasurementOut:
    return t.MeasurementOut(
        id=row.id,
        experiment=row.experiment_id,
        slug=row.slug,
        instrument_pair=row.instrument_pair,
        operator=row.operator,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        files=[file_out(f, bucket) for f in row.files],
    )
