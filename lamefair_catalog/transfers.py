"""Domain commands for measurements, files and presigned transfers, and bucket browsing.

A file is `stored` only after the server has seen the object in S3 with the declared size and
checksum. Single PUTs sign the file's SHA-256, so S3 refuses other bytes. Multipart uploads use
S3's SHA-256 checksum algorithm: each part URL signs that part's SHA-256 and the completed object's
COMPOSITE checksum is compared with the one computed from the parts the client declared.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lamefair_catalog import schemas as s
from lamefair_catalog.auth import Principal
from lamefair_catalog.commands import Catalog, experiment_prefix
from lamefair_catalog.errors import Conflict, Forbidden, Invalid, NotFound
from lamefair_catalog.models import (
    DerivedFile,
    Experiment,
    File,
    Measurement,
    Proposal,
    Sample,
)
from lamefair_catalog.shared import PathRefused, derived_key, sanitize_path_set
from lamefair_catalog.storage import b64_to_hex, composite_sha256_b64, hex_to_b64

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


def derived_out(row: DerivedFile) -> s.DerivedOut:
    return s.DerivedOut(
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
    )


def file_out(row: File, bucket: str) -> s.FileOut:
    return s.FileOut(
        id=row.id,
        measurement=row.measurement_id,
        path=row.path,
        bucket=bucket,
        key=row.key,
        size=row.size,
        sha256=row.sha256,
        state=row.state,
        error=row.error,
        stored_at=row.stored_at,
        derived=[derived_out(d) for d in row.derived],
    )


def measurement_out(row: Measurement, bucket: str) -> s.MeasurementOut:
    return s.MeasurementOut(
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


class Transfers:
    def __init__(
        self,
        catalog: Catalog,
        known_pairs: frozenset[str],
        on_derived_stored: Callable[[uuid.UUID], None] | None = None,
    ) -> None:
        self.catalog = catalog
        # Hands a stored derived file to the catalog's own validator (verdicts.py), after commit.
        self.on_derived_stored = on_derived_stored
        self.storage = catalog.storage
        self.settings = catalog.settings
        self.known_pairs = known_pairs

    # --- lookups ------------------------------------------------------------------------------

    def _file_chain(
        self, session: Session, principal: Principal, file_id: uuid.UUID
    ) -> tuple[File, Proposal]:
        row = session.get(File, file_id)
        if row is None:
            raise NotFound(f"File {file_id} does not exist.")
        measurement = row.measurement
        _, _, proposal = self.catalog.experiment_chain(
            session, principal, measurement.experiment_id
        )
        return row, proposal

    def _record_file(self, session: Session, row: File, proposal: Proposal) -> s.FileOut:
        out = file_out(row, proposal.raw_bucket)
        self.catalog.record_change(session, "file", row.id, "update", proposal.id, out)
        return out

    # --- measurements -------------------------------------------------------------------------

    def create_measurement(
        self, principal: Principal, body: s.MeasurementIn
    ) -> tuple[s.MeasurementOut, bool]:
        self.catalog.require_writer(principal)
        if body.instrument_pair not in self.known_pairs:
            raise Invalid(
                f"Unknown instrument pair {body.instrument_pair!r}; choose one of "
                f"{', '.join(sorted(self.known_pairs))}.",
                field="instrument_pair",
            )
        try:
            clean = sanitize_path_set([item.path for item in body.files])
        except PathRefused as exc:
            path, field = body.files[exc.index].path, f"files[{exc.index}].path"
            raise Invalid(str(exc), field=field, path=path, paths=list(exc.paths)) from None
        paths: dict[str, s.FileIn] = dict(zip(clean, body.files, strict=True))
        with self.catalog.session() as session:
            if body.id is not None and (existing := session.get(Measurement, body.id)):
                return self._replay_measurement(session, principal, existing, body, paths), False
            experiment, sample, proposal = self.catalog.experiment_chain(
                session, principal, body.experiment
            )
            measurement_id = body.id or uuid.uuid4()
            now = datetime.now(UTC)
            slug = f"{now:%Y%m%d-%H%M%S}-{measurement_id.hex[:8]}"
            prefix = experiment_prefix(proposal, sample, experiment.slug) + f"raw/{slug}/"
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
                    sha256=item.sha256,
                    state="pending",
                )
                for path, item in paths.items()
            ]
            session.add(measurement)
            try:
                session.flush()
                out = measurement_out(measurement, proposal.raw_bucket)
                self.catalog.record_change(
                    session, "measurement", measurement.id, "create", proposal.id, out
                )
                session.commit()
            except IntegrityError:
                session.rollback()
                if body.id is not None and (existing := session.get(Measurement, body.id)):
                    return self._replay_measurement(
                        session, principal, existing, body, paths
                    ), False
                raise Conflict(
                    "A file id in this measurement is already used by another file."
                ) from None
            readme_fields = {
                "project": proposal.project.name,
                "proposal": proposal.number,
                "sample": sample.name,
                "experiment": experiment.name,
                **out.model_dump(exclude={"files", "experiment"}),
                "files": len(out.files),
            }
            buckets = [proposal.raw_bucket, proposal.mirror_bucket]
        self.catalog.write_readme(buckets, prefix, "measurement", readme_fields, principal.username)
        return out, True

    def _replay_measurement(
        self,
        session: Session,
        principal: Principal,
        existing: Measurement,
        body: s.MeasurementIn,
        paths: dict[str, s.FileIn],
    ) -> s.MeasurementOut:
        _, _, proposal = self.catalog.experiment_chain(session, principal, existing.experiment_id)
        same = (
            existing.experiment_id == body.experiment
            and existing.instrument_pair == body.instrument_pair
            and existing.description == body.description
            and {(f.path, f.size, f.sha256) for f in existing.files}
            == {(p, i.size, i.sha256) for p, i in paths.items()}
        )
        if not same:
            raise Conflict(
                f"A measurement with id {existing.id} already exists with different content.",
                existing_id=str(existing.id),
            )
        return measurement_out(existing, proposal.raw_bucket)

    def list_measurements(
        self, principal: Principal, experiment_id: uuid.UUID
    ) -> list[s.MeasurementOut]:
        with self.catalog.session() as session:
            _, _, proposal = self.catalog.experiment_chain(session, principal, experiment_id)
            rows = session.scalars(
                select(Measurement)
                .where(Measurement.experiment_id == experiment_id)
                .order_by(Measurement.created_at)
            )
            return [measurement_out(row, proposal.raw_bucket) for row in rows]

    def get_measurement(self, principal: Principal, measurement_id: uuid.UUID) -> s.MeasurementOut:
        with self.catalog.session() as session:
            row = session.get(Measurement, measurement_id)
            if row is None:
                raise NotFound(f"Measurement {measurement_id} does not exist.")
            _, _, proposal = self.catalog.experiment_chain(session, principal, row.experiment_id)
            return measurement_out(row, proposal.raw_bucket)

    def get_file(self, principal: Principal, file_id: uuid.UUID) -> s.FileOut:
        with self.catalog.session() as session:
            row, proposal = self._file_chain(session, principal, file_id)
            return file_out(row, proposal.raw_bucket)

    # --- uploads ------------------------------------------------------------------------------

    def start_upload(
        self, principal: Principal, file_id: uuid.UUID
    ) -> s.SinglePlan | s.MultipartPlan:
        self.catalog.require_writer(principal)
        with self.catalog.session() as session:
            row, proposal = self._file_chain(session, principal, file_id)
            plan = self._plan(session, row, proposal)
            session.commit()
            return plan

    def _plan(
        self, session: Session, row: File, proposal: Proposal
    ) -> s.SinglePlan | s.MultipartPlan:
        if row.state == "stored":
            raise Conflict(f"{row.path} is already stored; nothing to upload.", state="stored")
        bucket = proposal.raw_bucket
        plan: s.SinglePlan | s.MultipartPlan
        if row.size <= self.settings.multipart_threshold:
            presigned = self.storage.presign_put(bucket, row.key, row.sha256)
            plan = s.SinglePlan(
                url=presigned.url, headers=presigned.headers, expires_at=presigned.expires_at
            )
        else:
            parts_done = None
            if row.upload_id:
                parts_done = self.storage.list_parts(bucket, row.key, row.upload_id)
            if parts_done is None:  # first attempt, or S3 forgot/aborted the old upload
                row.upload_id = self.storage.create_multipart(bucket, row.key)
                row.part_size = choose_part_size(row.size)
                parts_done = []
            plan = s.MultipartPlan(
                upload_id=row.upload_id,
                part_size=row.part_size,
                part_count=max(1, math.ceil(row.size / row.part_size)),
                parts_done=[
                    s.PartDone(number=p.number, etag=p.etag, size=p.size) for p in parts_done
                ],
            )
        if row.state != "uploading" or row.error:
            row.state, row.error = "uploading", ""
            self._record_file(session, row, proposal)
        return plan

    def _measurement_files(
        self, session: Session, principal: Principal, measurement_id: uuid.UUID, ids: list
    ) -> tuple[dict[uuid.UUID, File], Proposal]:
        measurement = session.get(Measurement, measurement_id)
        if measurement is None:
            raise NotFound(f"Measurement {measurement_id} does not exist.")
        _, _, proposal = self.catalog.experiment_chain(
            session, principal, measurement.experiment_id
        )
        rows = {f.id: f for f in measurement.files}
        unknown = [str(i) for i in ids if i not in rows]
        if unknown:
            raise NotFound(
                f"File(s) {', '.join(unknown[:5])} are not part of measurement {measurement_id}."
            )
        return rows, proposal

    def start_uploads(
        self, principal: Principal, measurement_id: uuid.UUID, body: s.BatchPlanRequest
    ) -> s.BatchPlans:
        """Upload plans for many files of one measurement in one request and one transaction
        (small files are bound by request overhead, not bandwidth)."""
        self.catalog.require_writer(principal)
        with self.catalog.session() as session:
            rows, proposal = self._measurement_files(session, principal, measurement_id, body.files)
            plans, errors = [], []
            for file_id in body.files:
                try:
                    plan = self._plan(session, rows[file_id], proposal)
                except Conflict as exc:
                    errors.append(s.BatchError(file=file_id, detail=exc.detail, **exc.extra))
                    continue
                plans.append(s.BatchPlan(file=file_id, plan=plan))
            session.commit()
            return s.BatchPlans(plans=plans, errors=errors)

    def presign_parts(
        self, principal: Principal, file_id: uuid.UUID, body: s.PartsRequest
    ) -> s.PartsResponse:
        self.catalog.require_writer(principal)
        with self.catalog.session() as session:
            row, proposal = self._file_chain(session, principal, file_id)
            if not row.upload_id or row.state != "uploading":
                raise Conflict(
                    f"{row.path} has no multipart upload in progress; "
                    "request an upload plan first (POST /api/files/<id>/upload)."
                )
            part_count = max(1, math.ceil(row.size / row.part_size))
            out = []
            for part in body.parts:
                if part.number > part_count:
                    raise Invalid(
                        f"Part {part.number} is beyond this file's {part_count} parts.",
                        field="parts",
                    )
                presigned = self.storage.presign_part(
                    proposal.raw_bucket, row.key, row.upload_id, part.number, part.sha256
                )
                out.append(
                    s.PresignedPart(
                        number=part.number,
                        url=presigned.url,
                        headers=presigned.headers,
                        expires_at=presigned.expires_at,
                    )
                )
            return s.PartsResponse(parts=out)

    def complete_upload(
        self, principal: Principal, file_id: uuid.UUID, body: s.CompleteRequest
    ) -> s.FileOut:
        self.catalog.require_writer(principal)
        with self.catalog.session() as session:
            row, proposal = self._file_chain(session, principal, file_id)
            out, problem = self._complete(session, row, proposal, body)
            session.commit()
            if problem:
                raise Conflict(problem, state="failed")
            return out

    def _complete(
        self, session: Session, row: File, proposal: Proposal, body: s.CompleteRequest
    ) -> tuple[s.FileOut, str | None]:
        """Check the object in S3 and mark the row; returns (file, problem or None)."""
        bucket = proposal.raw_bucket
        if row.state == "stored":
            return file_out(row, bucket), None  # a repeated complete after a lost response
        if row.upload_id:
            expected_checksum = self._complete_multipart(row, bucket, body)
        else:
            expected_checksum = hex_to_b64(row.sha256)
        info = self.storage.head(bucket, row.key)
        problem = None
        if info is None:
            problem = "is not in object storage; upload it again"
        elif info.size != row.size:
            problem = f"has {info.size} bytes in storage, {row.size} were declared"
        elif info.sha256_b64 is not None and info.sha256_b64 != expected_checksum:
            problem = "has a different SHA-256 in storage than declared"
        if problem:
            row.state, row.error = "failed", f"{row.path} {problem}."
            return self._record_file(session, row, proposal), row.error
        row.state, row.error, row.upload_id = "stored", "", None
        row.stored_at = datetime.now(UTC)
        return self._record_file(session, row, proposal), None

    def complete_uploads(
        self, principal: Principal, measurement_id: uuid.UUID, body: s.BatchCompleteRequest
    ) -> s.BatchCompleted:
        """Check and mark many files of one measurement in one transaction."""
        self.catalog.require_writer(principal)
        with self.catalog.session() as session:
            ids = [item.id for item in body.files]
            rows, proposal = self._measurement_files(session, principal, measurement_id, ids)
            files, errors = [], []
            for item in body.files:
                try:
                    out, problem = self._complete(
                        session, rows[item.id], proposal, s.CompleteRequest(parts=item.parts)
                    )
                except Invalid as exc:
                    errors.append(s.BatchError(file=item.id, detail=exc.detail))
                    continue
                if problem:
                    errors.append(s.BatchError(file=item.id, detail=problem, state="failed"))
                else:
                    files.append(out)
            session.commit()
            return s.BatchCompleted(files=files, errors=errors)

    def _complete_multipart(self, row: File, bucket: str, body: s.CompleteRequest) -> str:
        part_count = max(1, math.ceil(row.size / row.part_size))
        numbers = [p.number for p in body.parts]
        if numbers != list(range(1, part_count + 1)):
            raise Invalid(
                f"Completing {row.path} needs parts 1..{part_count} in order; got "
                f"{len(numbers)} part(s).",
                field="parts",
            )
        self.storage.complete_multipart(
            bucket, row.key, row.upload_id, [(p.number, p.etag, p.sha256) for p in body.parts]
        )
        return composite_sha256_b64([p.sha256 for p in body.parts])

    def abort_upload(self, principal: Principal, file_id: uuid.UUID) -> s.FileOut:
        self.catalog.require_writer(principal)
        with self.catalog.session() as session:
            row, proposal = self._file_chain(session, principal, file_id)
            if row.state == "stored":
                raise Conflict(f"{row.path} is already stored; there is no upload to abort.")
            if row.upload_id:
                self.storage.abort_multipart(proposal.raw_bucket, row.key, row.upload_id)
            row.upload_id, row.part_size, row.state, row.error = None, None, "pending", ""
            out = self._record_file(session, row, proposal)
            session.commit()
            return out

    def give_up_upload(
        self, principal: Principal, file_id: uuid.UUID, body: s.GiveUpRequest
    ) -> s.FileOut:
        """The client will never finish this upload (its source changed or was deleted): abort
        the multipart upload in S3 and mark the file failed with the client's reason. Without
        this the file said `uploading` for ever and S3 kept the parts. Unlike `abort_upload`
        (a cancel, back to `pending`), the registered bytes no longer exist anywhere: the
        corrected file is registered anew."""
        self.catalog.require_writer(principal)
        with self.catalog.session() as session:
            row, proposal = self._file_chain(session, principal, file_id)
            if row.state == "stored":
                raise Conflict(f"{row.path} is already stored; it stays stored.", state="stored")
            if row.upload_id:
                self.storage.abort_multipart(proposal.raw_bucket, row.key, row.upload_id)
            row.upload_id, row.part_size = None, None
            row.state = "failed"
            row.error = body.reason or f"{row.path}: the uploading client gave up."
            out = self._record_file(session, row, proposal)
            session.commit()
            return out

    # --- downloads ----------------------------------------------------------------------------

    def download(self, principal: Principal, file_id: uuid.UUID) -> s.DownloadOut:
        with self.catalog.session() as session:
            row, proposal = self._file_chain(session, principal, file_id)
            if row.state != "stored":
                raise Conflict(f"{row.path} is not stored yet (state: {row.state}).")
            filename = row.path.rsplit("/", 1)[-1]
            presigned = self.storage.presign_get(proposal.raw_bucket, row.key, filename)
            return s.DownloadOut(
                url=presigned.url,
                expires_at=presigned.expires_at,
                size=row.size,
                sha256=row.sha256,
                bucket=proposal.raw_bucket,
                key=row.key,
                path=row.path,
            )

    # --- derived NXem files -------------------------------------------------------------------

    def start_derived(
        self, principal: Principal, file_id: uuid.UUID, body: s.DerivedIn
    ) -> s.DerivedUpload:
        self.catalog.require_writer(principal)
        with self.catalog.session() as session:
            row, proposal = self._file_chain(session, principal, file_id)
            key = derived_key(row.key)
            derived = session.scalar(
                select(DerivedFile).where(DerivedFile.source_file_id == row.id)
            )
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
            presigned = self.storage.presign_put(proposal.mirror_bucket, key, body.sha256)
            return s.DerivedUpload(
                id=derived.id,
                bucket=proposal.mirror_bucket,
                key=key,
                url=presigned.url,
                headers=presigned.headers,
                expires_at=presigned.expires_at,
            )

    def complete_derived(self, principal: Principal, derived_id: uuid.UUID) -> s.DerivedOut:
        self.catalog.require_writer(principal)
        with self.catalog.session() as session:
            derived = session.get(DerivedFile, derived_id)
            if derived is None:
                raise NotFound(f"Derived file {derived_id} does not exist.")
            _, proposal = self._file_chain(session, principal, derived.source_file_id)
            info = self.storage.head(derived.bucket, derived.key)
            if info is None or info.size != derived.size:
                raise Conflict(
                    f"{derived.key} is not in the mirror bucket with {derived.size} bytes; "
                    "upload it again."
                )
            if info.sha256_b64 is not None and b64_to_hex(info.sha256_b64) != derived.sha256:
                raise Conflict(f"{derived.key} in the mirror bucket has a different SHA-256.")
            derived.state = "stored"
            out = derived_out(derived)
            self.catalog.record_change(session, "derived", derived.id, "update", proposal.id, out)
            session.commit()
        if self.on_derived_stored is not None:
            self.on_derived_stored(derived_id)
        return out

    # --- buckets ------------------------------------------------------------------------------

    def buckets(self, principal: Principal) -> list[s.BucketOut]:
        proposals = self.catalog.list_proposals(principal, None)
        out = []
        for p in proposals:
            for kind, name in (("raw", p.raw_bucket), ("mirror", p.mirror_bucket)):
                out.append(
                    s.BucketOut(
                        name=name,
                        kind=kind,
                        proposal=p.id,
                        project=p.project_slug,
                        number=p.number,
                        title=p.title,
                    )
                )
        return out

    def _readable_bucket(self, principal: Principal, bucket: str) -> Proposal:
        with self.catalog.session() as session:
            proposal = session.scalar(
                select(Proposal).where(
                    (Proposal.raw_bucket == bucket) | (Proposal.mirror_bucket == bucket)
                )
            )
            if proposal is None:
                raise NotFound(f"Bucket {bucket!r} is not a lamefair proposal bucket.")
            try:
                return self.catalog.readable_proposal(session, principal, proposal.id)
            except Forbidden:
                raise Forbidden(
                    f"You may not read bucket {bucket!r}: you are not a member of proposal "
                    f"{proposal.number}."
                ) from None

    def list_objects(
        self, principal: Principal, bucket: str, prefix: str, cursor: str | None, limit: int
    ) -> s.ObjectListing:
        self._readable_bucket(principal, bucket)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        listing = self.storage.list_level(bucket, prefix, cursor, limit)
        known = self._known_checksums(bucket, [o["key"] for o in listing.objects])
        return s.ObjectListing(
            bucket=bucket,
            prefix=prefix,
            folders=listing.folders,
            objects=[s.ObjectOut(**o, sha256=known.get(o["key"])) for o in listing.objects],
            next_cursor=listing.next_cursor,
        )

    def _known_checksums(self, bucket: str, keys: list[str]) -> dict[str, str]:
        """SHA-256 the catalog recorded for these keys (stored raw files and derived files)."""
        if not keys:
            return {}
        with self.catalog.session() as session:
            raw = session.execute(
                select(File.key, File.sha256)
                .join(Measurement, File.measurement_id == Measurement.id)
                .join(Experiment, Measurement.experiment_id == Experiment.id)
                .join(Sample, Experiment.sample_id == Sample.id)
                .join(Proposal, Sample.proposal_id == Proposal.id)
                .where(Proposal.raw_bucket == bucket, File.key.in_(keys), File.state == "stored")
            ).all()
            derived = session.execute(
                select(DerivedFile.key, DerivedFile.sha256).where(
                    DerivedFile.bucket == bucket,
                    DerivedFile.key.in_(keys),
                    DerivedFile.state == "stored",
                )
            ).all()
        return dict([*raw, *derived])

    def presign_keys(
        self, principal: Principal, bucket: str, body: s.PresignKeysIn
    ) -> s.PresignKeysOut:
        self._readable_bucket(principal, bucket)
        urls = []
        for key in body.keys:
            presigned = self.storage.presign_get(bucket, key)
            urls.append(s.PresignedGet(key=key, url=presigned.url, expires_at=presigned.expires_at))
        return s.PresignKeysOut(urls=urls)
