"""Measurements and their files: registered (`pending`) with their storage keys, then uploaded.

A measurement's files are checked as a set before anything is written (`shared.sanitize_path_set`,
the same rules the desktop applies to a drop), so a measurement never holds two files that could
not both exist in one folder.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lamefair_catalog.database.models import Experiment, File, Measurement, Proposal, Sample
from lamefair_catalog.domain.access import (
    Principal,
    experiment_chain,
    file_chain,
    measurement_chain,
    require_writer,
)
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.creation import (
    Created,
    Replay,
    different_content,
    insert_once,
    replayed,
)
from lamefair_catalog.domain.errors import Conflict, Invalid
from lamefair_catalog.domain.layout import measurement_prefix
from lamefair_catalog.domain.outputs import file_out, measurement_out
from lamefair_catalog.domain.readmes import write_readme
from lamefair_catalog.schemas import transfers as t
from lamefair_catalog.shared import PathRefused, sanitize_path_set


def _check_pair(catalog: Catalog, pair: str) -> None:
    if pair not in catalog.known_pairs:
        raise Invalid(
            f"Unknown instrument pair {pair!r}; choose one of "
            f"{', '.join(sorted(catalog.known_pairs))}.",
            field="instrument_pair",
        )


def _clean_paths(files: list[t.FileIn]) -> dict[str, t.FileIn]:
    """The files by their normal path, or Invalid naming the first path refused."""
    try:
        clean = sanitize_path_set([item.path for item in files])
    except PathRefused as exc:
        path, field = files[exc.index].path, f"files[{exc.index}].path"
        raise Invalid(str(exc), field=field, path=path, paths=list(exc.paths)) from None
    return dict(zip(clean, files, strict=True))


def _replay(
    session: Session, principal: Principal, body: t.MeasurementIn, paths: dict[str, t.FileIn]
) -> Replay:
    """A repeated create answers with the existing measurement if it has the same content."""

    def replay(existing: Measurement) -> t.MeasurementOut:
        _, _, proposal = experiment_chain(session, principal, existing.experiment_id)
        files = {f.path: f for f in existing.files}
        same = (
            existing.experiment_id == body.experiment
            and existing.instrument_pair == body.instrument_pair
            and existing.description == body.description
            and {f.path: f.size for f in existing.files} == {p: i.size for p, i in paths.items()}
            # A hash left out (declared while sending) matches the one declared since.
            and all(i.sha256 is None or i.sha256 == files[p].sha256 for p, i in paths.items())
        )
        if not same:
            raise different_content("measurement", existing.id)
        return measurement_out(existing, proposal.raw_bucket)

    return replay


def _new_measurement(
    body: t.MeasurementIn,
    principal: Principal,
    chain: tuple[Experiment, Sample, Proposal],
    paths: dict[str, t.FileIn],
) -> tuple[Measurement, str]:
    """The measurement row with its files, and the prefix they are stored under."""
    measurement_id = body.id or uuid.uuid4()
    now = datetime.now(UTC)
    slug = f"{now:%Y%m%d-%H%M%S}-{measurement_id.hex[:8]}"
    experiment, sample, proposal = chain
    prefix = measurement_prefix(proposal, sample, experiment.slug, slug)
    measurement = Measurement(
        id=measurement_id,
        experiment_id=experiment.id,
        slug=slug,
        instrument_pair=body.instrument_pair,
        operator=body.operator or principal.username,
        description=body.description,
        created_at=now,
        created_by=principal.username,
    )
    measurement.files = [
        File(
            id=item.id or uuid.uuid4(),
            path=path,
            key=prefix + path,
            size=item.size,
            sha256=item.sha256 or "",
            state="pending",
        )
        for path, item in paths.items()
    ]
    return measurement, prefix


def _readme_fields(
    out: t.MeasurementOut, proposal: Proposal, sample: Sample, experiment: Experiment
) -> dict:
    return {
        "project": proposal.project.name,
        "proposal": proposal.number,
        "sample": sample.name,
        "experiment": experiment.name,
        **out.model_dump(exclude={"files", "experiment"}),
        "files": len(out.files),
    }


def create_measurement(catalog: Catalog, principal: Principal, body: t.MeasurementIn) -> Created:
    require_writer(principal)
    _check_pair(catalog, body.instrument_pair)
    paths = _clean_paths(body.files)
    with catalog.session() as session:
        replay = _replay(session, principal, body, paths)
        done = replayed(session, Measurement, body.id, replay)
        if done is not None:
            return done
        chain = experiment_chain(session, principal, body.experiment)
        experiment, sample, proposal = chain
        measurement, prefix = _new_measurement(body, principal, chain, paths)
        out, created = insert_once(
            session,
            measurement,
            requested_id=body.id,
            to_out=lambda row: measurement_out(row, proposal.raw_bucket),
            entity="measurement",
            proposal_id=proposal.id,
            replay=replay,
            conflict=lambda _: Conflict(
                "A file id in this measurement is already used by another file."
            ),
        )
        if not created:
            return out, False
        fields = _readme_fields(out, proposal, sample, experiment)
        buckets = [proposal.raw_bucket, proposal.mirror_bucket]
    write_readme(catalog, buckets, prefix, "measurement", fields, principal.username)
    return out, True


def list_measurements(
    catalog: Catalog, principal: Principal, experiment_id: uuid.UUID
) -> list[t.MeasurementOut]:
    with catalog.session() as session:
        _, _, proposal = experiment_chain(session, principal, experiment_id)
        rows = session.scalars(
            select(Measurement)
            .where(Measurement.experiment_id == experiment_id)
            .order_by(Measurement.created_at)
        )
        return [measurement_out(row, proposal.raw_bucket) for row in rows]


def get_measurement(
    catalog: Catalog, principal: Principal, measurement_id: uuid.UUID
) -> t.MeasurementOut:
    with catalog.session() as session:
        row, proposal = measurement_chain(session, principal, measurement_id)
        return measurement_out(row, proposal.raw_bucket)


def get_file(catalog: Catalog, principal: Principal, file_id: uuid.UUID) -> t.FileOut:
    with catalog.session() as session:
        row, proposal = file_chain(session, principal, file_id)
        return file_out(row, proposal.raw_bucket)


def download(catalog: Catalog, principal: Principal, file_id: uuid.UUID) -> t.DownloadOut:
    """A presigned GET of a stored file, saved under its own name."""
    with catalog.session() as session:
        row, proposal = file_chain(session, principal, file_id)
        if row.state != "stored":
            raise Conflict(f"{row.path} is not stored yet (state: {row.state}).")
        filename = row.path.rsplit("/", 1)[-1]
        presigned = catalog.storage.presign_get(proposal.raw_bucket, row.key, filename)
        return t.DownloadOut(
            url=presigned.url,
            expires_at=presigned.expires_at,
            size=row.size,
            sha256=row.sha256,
            bucket=proposal.raw_bucket,
            key=row.key,
            path=row.path,
        )
