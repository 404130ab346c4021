"""Uploads of raw files through presigned URLs, and the check that makes a file `stored`.

A file is `stored` only after the server has seen the object in S3 with the declared size and
checksum. Single PUTs sign the file's SHA-256, so S3 refuses other bytes. Multipart uploads use
S3's SHA-256 checksum algorithm: each part URL signs that part's SHA-256 and the completed object's
COMPOSITE checksum is compared with the one computed from the parts the client declared.

A file may be registered without its SHA-256 (the client hashes while it sends, reading each byte
once): a single PUT then declares it with its plan, a multipart upload on completion. S3 cannot
compute a whole-object SHA-256 of a multipart object, so that one is the client's word, checked
against any value registered earlier; the fixity pass re-reads it later.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from lamefair_catalog.database.models import File, Measurement, Proposal
from lamefair_catalog.domain.access import (
    Principal,
    file_chain,
    measurement_chain,
    require_writer,
)
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.change_feed import record_change
from lamefair_catalog.domain.errors import Conflict, Invalid, NotFound
from lamefair_catalog.domain.outputs import file_out
from lamefair_catalog.schemas import transfers as t
from lamefair_catalog.storage.checksums import composite_sha256_b64, hex_to_b64
from lamefair_catalog.storage.gateway import ObjectInfo

MiB = 1024 * 1024
MIN_PART_SIZE = 8 * MiB
MAX_PARTS = 10_000
LARGE_FILE = 1024 * MiB


def choose_part_size(size: int) -> int:
    """At least 8 MiB (16 MiB from 1 GiB: half the presign round trips), whole MiB, and few
    enough parts for S3's 10,000-part limit."""
    needed = math.ceil(size / MAX_PARTS)
    floor = 2 * MIN_PART_SIZE if size >= LARGE_FILE else MIN_PART_SIZE
    return max(floor, math.ceil(needed / MiB) * MiB)


def _part_count(row: File) -> int:
    return max(1, math.ceil(row.size / row.part_size))


def _record_file(session: Session, row: File, proposal: Proposal) -> t.FileOut:
    out = file_out(row, proposal.raw_bucket)
    record_change(session, "file", row.id, "update", proposal.id, out)
    return out


def _measurement_files(
    session: Session, principal: Principal, measurement_id: uuid.UUID, ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, File], Proposal]:
    """The measurement's files by id, or NotFound naming ids that are not among them.

    Only the files asked for are loaded: a batch of a few files of a measurement that holds
    thousands must not read them all (each batch's plan and completion did, with their derived
    files, so a measurement's uploads grew quadratic in its size)."""
    _, proposal = measurement_chain(
        session, principal, measurement_id, options=[lazyload(Measurement.files)]
    )
    rows = {
        f.id: f
        for f in session.scalars(
            select(File).where(File.measurement_id == measurement_id, File.id.in_(set(ids)))
        )
    }
    unknown = [str(i) for i in ids if i not in rows]
    if unknown:
        raise NotFound(
            f"File(s) {', '.join(unknown[:5])} are not part of measurement {measurement_id}."
        )
    return rows, proposal


# --- plans ------------------------------------------------------------------------------------


def start_upload(
    catalog: Catalog, principal: Principal, file_id: uuid.UUID, body: t.UploadRequest | None = None
) -> t.SinglePlan | t.MultipartPlan:
    require_writer(principal)
    with catalog.session() as session:
        row, proposal = file_chain(session, principal, file_id)
        plan = _plan(catalog, session, row, proposal, body.sha256 if body else None)
        session.commit()
        return plan


def start_uploads(
    catalog: Catalog, principal: Principal, measurement_id: uuid.UUID, body: t.BatchPlanRequest
) -> t.BatchPlans:
    """Upload plans for many files of one measurement in one request and one transaction
    (small files are bound by request overhead, not bandwidth)."""
    require_writer(principal)
    with catalog.session() as session:
        rows, proposal = _measurement_files(session, principal, measurement_id, body.files)
        plans, errors = [], []
        for file_id in body.files:
            try:
                plan = _plan(catalog, session, rows[file_id], proposal, body.sha256.get(file_id))
            except (Conflict, Invalid) as exc:
                errors.append(t.BatchError(file=file_id, detail=exc.detail, **exc.extra))
                continue
            plans.append(t.BatchPlan(file=file_id, plan=plan))
        session.commit()
        return t.BatchPlans(plans=plans, errors=errors)


def _declared(row: File, sha256: str | None) -> None:
    """Take the client's SHA-256 for a row registered without one; refuse one that differs from
    what was registered or declared before (the file changed since)."""
    if sha256 is None:
        return
    if row.sha256 and row.sha256 != sha256:
        raise Conflict(
            f"{row.path} reads differently now (SHA-256 {sha256[:12]}…) than when it was "
            f"registered or first sent ({row.sha256[:12]}…): the file changed. Add it again "
            "as a new measurement.",
            state="changed",
        )
    row.sha256 = sha256


def _plan(
    catalog: Catalog, session: Session, row: File, proposal: Proposal, sha256: str | None = None
) -> t.SinglePlan | t.MultipartPlan:
    if row.state == "stored":
        raise Conflict(f"{row.path} is already stored; nothing to upload.", state="stored")
    plan: t.SinglePlan | t.MultipartPlan
    if row.size <= catalog.settings.multipart_threshold:
        # The PUT signs the whole file's checksum: S3 stores those bytes or none.
        _declared(row, sha256)
        if not row.sha256:
            raise Invalid(
                f"{row.path} goes in one PUT, which signs its SHA-256: send it with the plan "
                "request (`sha256`).",
                field="sha256",
            )
        presigned = catalog.storage.presign_put(proposal.raw_bucket, row.key, row.sha256)
        plan = t.SinglePlan(
            url=presigned.url, headers=presigned.headers, expires_at=presigned.expires_at
        )
    else:
        plan = _multipart_plan(catalog, row, proposal.raw_bucket)
    if row.state != "uploading" or row.error:
        row.state, row.error = "uploading", ""
        _record_file(session, row, proposal)
    return plan


def _multipart_plan(catalog: Catalog, row: File, bucket: str) -> t.MultipartPlan:
    """Resumes the upload S3 still holds (with the parts it has), or starts a new one."""
    storage = catalog.storage
    parts_done = None
    if row.upload_id:
        parts_done = storage.list_parts(bucket, row.key, row.upload_id)
    if parts_done is None:  # first attempt, or S3 forgot/aborted the old upload
        row.upload_id = storage.create_multipart(bucket, row.key)
        row.part_size = choose_part_size(row.size)
        parts_done = []
    return t.MultipartPlan(
        upload_id=row.upload_id,
        part_size=row.part_size,
        part_count=_part_count(row),
        parts_done=[t.PartDone(number=p.number, etag=p.etag, size=p.size) for p in parts_done],
    )


def presign_parts(
    catalog: Catalog, principal: Principal, file_id: uuid.UUID, body: t.PartsRequest
) -> t.PartsResponse:
    require_writer(principal)
    with catalog.session() as session:
        row, proposal = file_chain(session, principal, file_id)
        if not row.upload_id or row.state != "uploading":
            raise Conflict(
                f"{row.path} has no multipart upload in progress; "
                "request an upload plan first (POST /api/files/<id>/upload)."
            )
        part_count = _part_count(row)
        out = []
        for part in body.parts:
            if part.number > part_count:
                raise Invalid(
                    f"Part {part.number} is beyond this file's {part_count} parts.",
                    field="parts",
                )
            presigned = catalog.storage.presign_part(
                proposal.raw_bucket, row.key, row.upload_id, part.number, part.sha256
            )
            out.append(
                t.PresignedPart(
                    number=part.number,
                    url=presigned.url,
                    headers=presigned.headers,
                    expires_at=presigned.expires_at,
                )
            )
        return t.PartsResponse(parts=out)


# --- completion -------------------------------------------------------------------------------


def complete_upload(
    catalog: Catalog, principal: Principal, file_id: uuid.UUID, body: t.CompleteRequest
) -> t.FileOut:
    require_writer(principal)
    with catalog.session() as session:
        row, proposal = file_chain(session, principal, file_id)
        out, problem = _complete(catalog, session, row, proposal, body)
        session.commit()
        if problem:
            raise Conflict(problem, state="failed")
        return out


def complete_uploads(
    catalog: Catalog,
    principal: Principal,
    measurement_id: uuid.UUID,
    body: t.BatchCompleteRequest,
) -> t.BatchCompleted:
    """Check and mark many files of one measurement in one transaction.

    The single-PUT files of the batch are checked with one listing of their folder (their
    sizes) instead of a HEAD each: on small files those HEADs were a third of the catalog's
    busy time. Why size and presence are enough for them: clients hold no S3 credentials, so
    the only way to write a file's key is a URL this server signed, and the only URLs signed
    for a raw file's key (`_plan`) are single PUTs that sign `x-amz-checksum-sha256` of
    `row.sha256`, which never changes once declared (`_declared` refuses another value). S3
    refuses a body that does not match the signed checksum, so an object under that key holds
    bytes with exactly that SHA-256; the size check catches the rest. Multipart files, which the
    server assembles itself, and any file the listing does not show, are still checked with a
    HEAD, so a client claiming a file stored that is not in S3 is refused as before. (The key is
    this file's alone: the measurement's folder has its id in its name and paths are unique in
    a measurement; nothing in the catalog writes or deletes raw objects otherwise.)"""
    require_writer(principal)
    with catalog.session() as session:
        ids = [item.id for item in body.files]
        rows, proposal = _measurement_files(session, principal, measurement_id, ids)
        singles = [
            rows[i].key for i in ids if rows[i].state != "stored" and rows[i].upload_id is None
        ]
        listed = catalog.storage.sizes(proposal.raw_bucket, singles)
        files, errors = [], []
        for item in body.files:
            try:
                out, problem = _complete(
                    catalog,
                    session,
                    rows[item.id],
                    proposal,
                    t.CompleteRequest(parts=item.parts, sha256=item.sha256),
                    listed,
                )
            except Invalid as exc:
                errors.append(t.BatchError(file=item.id, detail=exc.detail))
                continue
            if problem:
                errors.append(t.BatchError(file=item.id, detail=problem, state="failed"))
            else:
                files.append(out)
        session.commit()
        return t.BatchCompleted(files=files, errors=errors)


def _complete(
    catalog: Catalog,
    session: Session,
    row: File,
    proposal: Proposal,
    body: t.CompleteRequest,
    listed: dict[str, int] | None = None,
) -> tuple[t.FileOut, str | None]:
    """Check the object in S3 and mark the row; returns (file, problem or None).

    `listed`: sizes of single-PUT objects S3 listed (see complete_uploads); a single-PUT file
    found there is not asked about again."""
    bucket = proposal.raw_bucket
    if row.state == "stored":
        return file_out(row, bucket), None  # a repeated complete after a lost response
    sha256 = row.sha256 or body.sha256
    if not sha256:
        raise Invalid(
            f"Completing {row.path} needs the file's SHA-256 (`sha256`): it was registered "
            "without one.",
            field="sha256",
        )
    if body.sha256 is not None and body.sha256 != sha256:
        # A single PUT's object has the planned checksum; a multipart one's was hashed while
        # sending: either way not what was registered, so the file changed meanwhile. Nothing
        # is assembled from such parts.
        if row.upload_id:
            catalog.storage.abort_multipart(bucket, row.key, row.upload_id)
            row.upload_id, row.part_size = None, None
        return _failed(
            session, row, proposal, "was sent with other bytes than registered: the file changed"
        )
    if row.upload_id:
        expected_checksum = _complete_multipart(catalog, row, bucket, body)
    else:
        expected_checksum = hex_to_b64(sha256)
    if listed and row.upload_id is None and row.key in listed:
        info = ObjectInfo(size=listed[row.key], sha256_b64=None, etag="")
    else:
        info = catalog.storage.head(bucket, row.key)
    if info is None:
        return _failed(session, row, proposal, "is not in object storage; upload it again")
    if info.size != row.size:
        return _failed(
            session, row, proposal, f"has {info.size} bytes in storage, {row.size} were declared"
        )
    if info.sha256_b64 is not None and info.sha256_b64 != expected_checksum:
        return _failed(session, row, proposal, "has a different SHA-256 in storage than declared")
    row.state, row.error, row.upload_id = "stored", "", None
    row.sha256 = sha256
    row.stored_at = datetime.now(UTC)
    return _record_file(session, row, proposal), None


def _failed(session: Session, row: File, proposal: Proposal, problem: str) -> tuple[t.FileOut, str]:
    row.state, row.error = "failed", f"{row.path} {problem}."
    return _record_file(session, row, proposal), row.error


def _complete_multipart(catalog: Catalog, row: File, bucket: str, body: t.CompleteRequest) -> str:
    part_count = _part_count(row)
    numbers = [p.number for p in body.parts]
    if numbers != list(range(1, part_count + 1)):
        raise Invalid(
            f"Completing {row.path} needs parts 1..{part_count} in order; got "
            f"{len(numbers)} part(s).",
            field="parts",
        )
    catalog.storage.complete_multipart(
        bucket, row.key, row.upload_id, [(p.number, p.etag, p.sha256) for p in body.parts]
    )
    return composite_sha256_b64([p.sha256 for p in body.parts])


# --- cancelling -------------------------------------------------------------------------------


def _end_upload(
    catalog: Catalog,
    principal: Principal,
    file_id: uuid.UUID,
    *,
    refusal: Callable[[File], Conflict],
    mark: Callable[[File], tuple[str, str]],
) -> t.FileOut:
    """Abort the file's multipart upload in S3 (if any), forget it and give the file the state
    and error `mark` says. A stored file has no upload to end: `refusal`."""
    require_writer(principal)
    with catalog.session() as session:
        row, proposal = file_chain(session, principal, file_id)
        if row.state == "stored":
            raise refusal(row)
        if row.upload_id:
            catalog.storage.abort_multipart(proposal.raw_bucket, row.key, row.upload_id)
        row.upload_id, row.part_size = None, None
        row.state, row.error = mark(row)
        out = _record_file(session, row, proposal)
        session.commit()
        return out


def abort_upload(catalog: Catalog, principal: Principal, file_id: uuid.UUID) -> t.FileOut:
    """A cancel: the upload is aborted in S3 and the file is `pending` again."""
    return _end_upload(
        catalog,
        principal,
        file_id,
        refusal=lambda row: Conflict(f"{row.path} is already stored; there is no upload to abort."),
        mark=lambda row: ("pending", ""),
    )


def give_up_upload(
    catalog: Catalog, principal: Principal, file_id: uuid.UUID, body: t.GiveUpRequest
) -> t.FileOut:
    """The client will never finish this upload (its source changed or was deleted): abort
    the multipart upload in S3 and mark the file failed with the client's reason. Without
    this the file said `uploading` for ever and S3 kept the parts. Unlike `abort_upload`
    (a cancel, back to `pending`), the registered bytes no longer exist anywhere: the
    corrected file is registered anew."""
    return _end_upload(
        catalog,
        principal,
        file_id,
        refusal=lambda row: Conflict(
            f"{row.path} is already stored; it stays stored.", state="stored"
        ),
        mark=lambda row: (
            "failed",
            body.reason or f"{row.path}: the uploading client gave up.",
        ),
    )
