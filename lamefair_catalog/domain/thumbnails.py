"""Thumbnails: a small PNG of each derived NXem file, stored beside it in the mirror bucket.

The desktop renders it at conversion (lamefair_desktop/nexus/thumbnail.py) and uploads it like the
NXem: a presigned PUT that signs its SHA-256 (S3 refuses other bytes), then a completion that checks
the object. Its key is the NXem's with ".nxs" replaced by ".thumb.png", so the pair stays together
in a listing. A thumbnail counts only for the NXem bytes it was stored for (`thumbnail_of`): a
reconversion's new bytes have none until theirs is sent. Readers of the proposal may see it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from lamefair_catalog.database.models import (
    DerivedFile,
    Experiment,
    File,
    Measurement,
    Proposal,
    Sample,
)
from lamefair_catalog.domain.access import (
    Principal,
    existing,
    file_chain,
    require_writer,
    visible_proposal_ids,
)
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.change_feed import record_change
from lamefair_catalog.domain.derived import require_in_mirror
from lamefair_catalog.domain.errors import Conflict, NotFound
from lamefair_catalog.domain.outputs import derived_out, has_thumbnail
from lamefair_catalog.schemas import thumbnails as s
from lamefair_catalog.schemas import transfers as t

SUFFIX = ".thumb.png"


def thumbnail_key(nxem_key: str) -> str:
    """`a/img.nxs` -> `a/img.thumb.png`; `a/img.dm4.nxs` -> `a/img.dm4.thumb.png`."""
    return nxem_key.removesuffix(".nxs") + SUFFIX


def _readable_derived(session, principal: Principal, derived_id: uuid.UUID) -> DerivedFile:
    derived = existing(session, DerivedFile, derived_id, "Derived file")
    file_chain(session, principal, derived.source_file_id)  # readable, else Forbidden
    return derived


def start_thumbnail(
    catalog: Catalog, principal: Principal, derived_id: uuid.UUID, body: s.ThumbnailIn
) -> s.ThumbnailUpload:
    require_writer(principal)
    with catalog.session() as session:
        derived = _readable_derived(session, principal, derived_id)
        if derived.state != "stored":
            raise Conflict(f"{derived.key} is not stored yet; store the NXem before its thumbnail.")
        derived.thumbnail_size, derived.thumbnail_sha256 = body.size, body.sha256
        derived.thumbnail_of = ""  # pending until the object is checked
        bucket, key = derived.bucket, thumbnail_key(derived.key)
        session.commit()
    presigned = catalog.storage.presign_put(bucket, key, body.sha256)
    return s.ThumbnailUpload(
        derived=derived_id,
        bucket=bucket,
        key=key,
        url=presigned.url,
        headers=presigned.headers,
        expires_at=presigned.expires_at,
    )


def complete_thumbnail(
    catalog: Catalog, principal: Principal, derived_id: uuid.UUID
) -> t.DerivedOut:
    """Checks the PNG in the mirror bucket against what was declared; desktops learn of it from
    the change feed (a "derived" update with `thumbnail: true`)."""
    require_writer(principal)
    with catalog.session() as session:
        derived = _readable_derived(session, principal, derived_id)
        _, proposal = file_chain(session, principal, derived.source_file_id)
        key = thumbnail_key(derived.key)
        if not derived.thumbnail_sha256:
            raise Conflict(f"No thumbnail of {derived.key} was announced; ask for an upload first.")
        require_in_mirror(
            catalog, derived.bucket, key, derived.thumbnail_size, derived.thumbnail_sha256
        )
        derived.thumbnail_of = derived.sha256
        out = derived_out(derived)
        record_change(session, "derived", derived.id, "update", proposal.id, out)
        session.commit()
    return out


def thumbnail_url(catalog: Catalog, principal: Principal, derived_id: uuid.UUID) -> str:
    """A short-lived GET of the thumbnail (the share links' lifetime: it is fetched at once)."""
    with catalog.session() as session:
        derived = _readable_derived(session, principal, derived_id)
        if not has_thumbnail(derived):
            raise NotFound(f"{derived.key} has no thumbnail yet.")
        bucket, key = derived.bucket, thumbnail_key(derived.key)
    ttl = catalog.settings.share_presign_ttl
    return catalog.storage.presign_get(bucket, key, seconds=ttl).url


def missing_thumbnails(
    catalog: Catalog, principal: Principal, proposal: str | None, limit: int
) -> list[t.DerivedOut]:
    """Stored derived files the caller may read whose current bytes have no thumbnail, oldest
    first; `proposal` is a proposal's id or number (every project's proposal of that number)."""
    with catalog.session() as session:
        query = (
            select(DerivedFile)
            .join(File, DerivedFile.source_file_id == File.id)
            .join(Measurement, File.measurement_id == Measurement.id)
            .join(Experiment, Measurement.experiment_id == Experiment.id)
            .join(Sample, Experiment.sample_id == Sample.id)
            .join(Proposal, Sample.proposal_id == Proposal.id)
            .where(DerivedFile.state == "stored", DerivedFile.thumbnail_of != DerivedFile.sha256)
            .order_by(DerivedFile.created_at, DerivedFile.id)
            .limit(limit)
        )
        visible = visible_proposal_ids(session, principal)
        if visible is not None:
            query = query.where(Proposal.id.in_(visible or [None]))
        if proposal:
            try:
                query = query.where(Proposal.id == uuid.UUID(proposal))
            except ValueError:
                query = query.where(Proposal.number == proposal)
        return [derived_out(row) for row in session.scalars(query)]


def thumbnails_of_objects(session, bucket: str, keys: list[str]) -> dict[str, tuple[str, str]]:
    """For a listing's keys: (derived id, thumbnail SHA-256) of the NXem or raw file each is, when
    that one has a thumbnail (the bucket browser's grid shows it)."""
    if not keys:
        return {}
    stored = (DerivedFile.state == "stored", DerivedFile.thumbnail_of == DerivedFile.sha256)
    mirror = session.execute(
        select(DerivedFile.key, DerivedFile.id, DerivedFile.thumbnail_sha256).where(
            DerivedFile.bucket == bucket, DerivedFile.key.in_(keys), *stored
        )
    ).all()
    raw = session.execute(
        select(File.key, DerivedFile.id, DerivedFile.thumbnail_sha256)
        .join(DerivedFile, DerivedFile.source_file_id == File.id)
        .join(Measurement, File.measurement_id == Measurement.id)
        .join(Experiment, Measurement.experiment_id == Experiment.id)
        .join(Sample, Experiment.sample_id == Sample.id)
        .join(Proposal, Sample.proposal_id == Proposal.id)
        .where(Proposal.raw_bucket == bucket, File.key.in_(keys), *stored)
    ).all()
    return {row[0]: (str(row[1]), row[2]) for row in [*mirror, *raw]}
