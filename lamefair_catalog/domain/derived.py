"""Derived NXem files: the converted copy of a raw file, uploaded into the mirror bucket.

Stored like raw files (the object must be in S3 with the declared size and SHA-256); once stored,
the catalog's own validator is told (`Catalog.on_derived_stored`, see verdicts.py), after commit.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from lamefair_catalog.database.models import DerivedFile
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
    with catalog.session() as session:
        row, proposal = file_chain(session, principal, file_id)
        key = derived_key(row.key)
        derived = session.scalar(select(DerivedFile).where(DerivedFile.source_file_id == row.id))
        if derived is None:
            derived = DerivedFile(id=uuid.uuid4(), source_file_id=row.id)
            session.add(derived)
        derived.bucket, derived.key = proposal.mirror_bucket, key
        derived.size, derived.sha256 = body.size, body.sha256
        derived.valid, derived.report, derived.state = body.valid, body.report, "pending"
        # New bytes: the catalog's verdict on the old ones no longer says anything.
        derived.server_valid, derived.server_validator = None, ""
        derived.server_report, derived.server_checked_at = "", None
        session.commit()
        presigned = catalog.storage.presign_put(proposal.mirror_bucket, key, body.sha256)
        return t.DerivedUpload(
            id=derived.id,
            bucket=proposal.mirror_bucket,
            key=key,
            url=presigned.url,
            headers=presigned.headers,
            expires_at=presigned.expires_at,
        )


def complete_derived(catalog: Catalog, principal: Principal, derived_id: uuid.UUID) -> t.DerivedOut:
    require_writer(principal)
    with catalog.session() as session:
        derived = existing(session, DerivedFile, derived_id, "Derived file")
        _, proposal = file_chain(session, principal, derived.source_file_id)
        info = catalog.storage.head(derived.bucket, derived.key)
        if info is None or info.size != derived.size:
            raise Conflict(
                f"{derived.key} is not in the mirror bucket with {derived.size} bytes; "
                "upload it again."
            )
        if info.sha256_b64 is not None and b64_to_hex(info.sha256_b64) != derived.sha256:
            raise Conflict(f"{derived.key} in the mirror bucket has a different SHA-256.")
        derived.state = "stored"
        out = derived_out(derived)
        record_change(session, "derived", derived.id, "update", proposal.id, out)
        session.commit()
    if catalog.on_derived_stored is not None:
        catalog.on_derived_stored(derived_id)
    return out
