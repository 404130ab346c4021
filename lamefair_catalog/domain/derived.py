"""Derived NXem files: the converted copy of a raw file, uploaded into the mirror bucket.

Stored like raw files (the object must be in S3 with the declared size and SHA-256); once stored,
the catalog's own validator is told (`Catalog.on_derived_stored`, see verdicts.py), after commit.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lamefair_catalog.database.models import DerivedFile
from lamefair_catalog.domain import search
from lamefair_catalog.domain.access import Principal, existing, file_chain, require_writer
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.change_feed import record_change
from lamefair_catalog.domain.errors import Conflict
from lamefair_catalog.domain.outputs import derived_out
from lamefair_catalog.schemas import transfers as t
from lamefair_catalog.shared import derived_key
from lamefair_catalog.storage.checksums import b64_to_hex


def start_derived(
    catalog: Catalog, principal: Principal, file_id: uuid.UUID, body: t.DerivedIn
) -> t.DerivedUpload:
    require_writer(principal)
    for attempt in range(3):
        with catalog.session() as session:
            row, proposal = file_chain(session, principal, file_id)
            derived = _record(session, row, proposal.mirror_bucket, body)
            if body.acquisition is not None:
                search.record_values(session, row, derived, proposal, body.acquisition)
            else:
                search.forget_values(session, derived.id)
            try:
                session.commit()
            except IntegrityError:
                # Another conversion took the same name at this instant (the unique index
                # refused ours): choose again, the name is now seen as taken.
                session.rollback()
                if attempt == 2:
                    raise
                continue
            presigned = catalog.storage.presign_put(derived.bucket, derived.key, body.sha256)
            return t.DerivedUpload(
                id=derived.id,
                bucket=derived.bucket,
                key=derived.key,
                url=presigned.url,
                headers=presigned.headers,
                expires_at=presigned.expires_at,
            )
    raise AssertionError("unreachable")


def _record(session, row, bucket: str, body: t.DerivedIn) -> DerivedFile:
    """The derived row of a raw file, (re)set for new bytes; not committed."""
    derived = session.scalar(select(DerivedFile).where(DerivedFile.source_file_id == row.id))
    if derived is None or derived.bucket != bucket:
        key = _free_key(session, bucket, row.key, row.id)
    else:
        key = derived.key  # a reconversion replaces its own object, never another's
    if derived is None:
        derived = DerivedFile(id=uuid.uuid4(), source_file_id=row.id)
        session.add(derived)
    derived.bucket, derived.key = bucket, key
    derived.size, derived.sha256 = body.size, body.sha256
    derived.valid, derived.report, derived.state = body.valid, body.report, "pending"
    # New bytes: the catalog's verdict on the old ones no longer says anything.
    derived.server_valid, derived.server_validator = None, ""
    derived.server_report, derived.server_checked_at = "", None
    return derived


def _free_key(session, bucket: str, raw_key: str, file_id: uuid.UUID) -> str:
    """The mirror key for a raw file's NXem that no other raw file's NXem holds.

    `img.tif` and `img.dm4` side by side both derive `img.nxs`: the first keeps that familiar
    name, the next gets its whole name (`img.dm4.nxs`), and the file id settles anything left.
    Two conversions choosing at the same instant are kept apart by the unique (bucket, key)
    index: the loser's commit fails and its client retries (409), then finds the name taken.
    """
    candidates = (derived_key(raw_key), f"{raw_key}.nxs", f"{raw_key}.{file_id.hex[:12]}.nxs")
    for key in candidates:
        taken = session.scalar(
            select(DerivedFile.id).where(DerivedFile.bucket == bucket, DerivedFile.key == key)
        )
        if taken is None:
            return key
    return f"{raw_key}.{file_id.hex}.nxs"


def complete_derived(catalog: Catalog, principal: Principal, derived_id: uuid.UUID) -> t.DerivedOut:
    require_writer(principal)
    with catalog.session() as session:
        derived = existing(session, DerivedFile, derived_id, "Derived file")
        _, proposal = file_chain(session, principal, derived.source_file_id)
        require_in_mirror(catalog, derived.bucket, derived.key, derived.size, derived.sha256)
        derived.state = "stored"
        search.mark_stored(session, derived.id)
        out = derived_out(derived)
        record_change(session, "derived", derived.id, "update", proposal.id, out)
        session.commit()
    if catalog.on_derived_stored is not None:
        catalog.on_derived_stored(derived_id)
    return out


def require_in_mirror(catalog: Catalog, bucket: str, key: str, size: int, sha256: str) -> None:
    """Conflict unless the mirror bucket holds `key` with this size and (where S3 keeps one)
    this SHA-256: what a completion checks before it records an object as stored."""
    info = catalog.storage.head(bucket, key)
    if info is None or info.size != size:
        raise Conflict(f"{key} is not in the mirror bucket with {size} bytes; upload it again.")
    if info.sha256_b64 is not None and b64_to_hex(info.sha256_b64) != sha256:
        raise Conflict(f"{key} in the mirror bucket has a different SHA-256.")
