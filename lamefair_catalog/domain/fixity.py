"""Fixity: stored bytes re-read and their SHA-256 compared with the one recorded at upload.

One object at a time, through the one S3 gateway, streaming (memory stays at one chunk). Every
check is recorded in `fixity_checks`; `fixity_objects` holds each object's last result and is the
queue of the passes (fixity_pass.py), oldest-checked first.

Hazards and choices:
- Never the same object twice at once, across processes: an object is *claimed* before it is
  read, by a compare-and-set on its row (`claimed_until`, a lease), in a short transaction. On
  PostgreSQL the candidate is picked with `SELECT … FOR UPDATE SKIP LOCKED`, so processes racing
  for the oldest object each get a different one instead of waiting on each other. No transaction
  stays open during the read (minutes for a large object at a bounded rate). A process that dies
  leaves its lease to run out (`lease_for`); the object is then taken again.
- SQLite: the compare-and-set keeps it correct, but writers lock the whole file; run one fixity
  process on an embedded catalog.
- A mismatch is about the bytes S3 returns now, against the SHA-256 the catalog recorded once
  S3 had confirmed the upload's checksum: damage (or a write behind the catalog's back).
- An object that is no longer stored (a derived file being uploaded again) leaves the queue; it
  comes back, with its new checksum, at the next pass.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lamefair_catalog.database.models import (
    DerivedFile,
    Experiment,
    File,
    FixityCheck,
    FixityObject,
    Measurement,
    Project,
    Proposal,
    Sample,
)
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.storage.errors import StorageError

PROBLEMS = ("mismatch", "missing")  # damage; "error" means the object could not be read
LEASE_FLOOR = timedelta(minutes=10)
SLOWEST_READ = 5 * 1024 * 1024  # bytes/s assumed for a lease when no rate is given


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Target:
    """One stored object to check, with what people call it (`where`)."""

    id: uuid.UUID
    kind: str  # "raw" or "derived"
    proposal_id: uuid.UUID
    proposal: str  # "project/number"
    bucket: str
    key: str
    path: str  # the raw file's path in its measurement, or the derived object's key
    sha256: str
    size: int

    @property
    def where(self) -> str:
        return f"{self.proposal} {self.kind} {self.path}"


@dataclass(frozen=True)
class Outcome:
    result: str  # ok, mismatch, missing, error
    detail: str
    actual: str = ""
    checked_at: datetime | None = None


class Interrupted(Exception):
    """The check was stopped (SIGTERM) mid-read; nothing is recorded for it."""


# --- the queue --------------------------------------------------------------------------------


def _raw_objects():
    return (
        select(File.id, Sample.proposal_id, File.size)
        .join(Measurement, File.measurement_id == Measurement.id)
        .join(Experiment, Measurement.experiment_id == Experiment.id)
        .join(Sample, Experiment.sample_id == Sample.id)
        .where(File.state == "stored")
    )


def _derived_objects():
    return (
        select(DerivedFile.id, Sample.proposal_id, DerivedFile.size)
        .join(File, DerivedFile.source_file_id == File.id)
        .join(Measurement, File.measurement_id == Measurement.id)
        .join(Experiment, Measurement.experiment_id == Experiment.id)
        .join(Sample, Experiment.sample_id == Sample.id)
        .where(DerivedFile.state == "stored", DerivedFile.sha256 != "")
    )


def _insert(session: Session):
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(FixityObject)


def enrol(session: Session, only: uuid.UUID | None = None) -> None:
    """Add stored objects the queue does not hold yet (never checked). Several processes may do
    this at once: rows another one added first are skipped (ON CONFLICT DO NOTHING)."""
    for kind, query in (("raw", _raw_objects()), ("derived", _derived_objects())):
        model = File if kind == "raw" else DerivedFile
        query = query.where(~select(FixityObject.id).where(FixityObject.id == model.id).exists())
        if only is not None:
            query = query.where(model.id == only)
        rows = session.execute(query).all()
        if rows:
            values = [
                {
                    "id": row[0],
                    "kind": kind,
                    "proposal_id": row[1],
                    "size": row[2],
                    "sha256": "",
                    "last_detail": "",
                    "claimed_by": "",
                }
                for row in rows
            ]
            session.execute(_insert(session).values(values).on_conflict_do_nothing())


def due(cutoff: datetime):
    """Objects not checked since `cutoff` (never checked ones first in the order)."""
    return or_(FixityObject.last_checked_at.is_(None), FixityObject.last_checked_at < cutoff)


def free(at: datetime):
    return or_(FixityObject.claimed_until.is_(None), FixityObject.claimed_until < at)


def lease_for(size: int, rate: float | None) -> timedelta:
    return LEASE_FLOOR + timedelta(seconds=size / min(rate or SLOWEST_READ, SLOWEST_READ))


def try_claim(session: Session, object_id: uuid.UUID, worker: str, lease: timedelta) -> bool:
    """Take the object for `lease` unless another process holds it (compare-and-set)."""
    at = now()
    taken = session.execute(
        update(FixityObject)
        .where(FixityObject.id == object_id, free(at))
        .values(claimed_by=worker, claimed_until=at + lease)
    )
    return taken.rowcount == 1


def claim_next(
    catalog: Catalog, cutoff: datetime, worker: str, rate: float | None
) -> Target | None:
    """The oldest-checked object due since `cutoff` that nobody holds, claimed; None when none
    is left. Objects no longer stored leave the queue on the way."""
    while True:
        with catalog.session() as session:
            row = session.execute(
                select(FixityObject.id, FixityObject.kind, FixityObject.size)
                .where(due(cutoff), free(now()))
                .order_by(FixityObject.last_checked_at.asc().nulls_first(), FixityObject.id)
                .limit(1)
                .with_for_update(skip_locked=True)  # PostgreSQL; SQLite ignores it
            ).first()
            if row is None:
                return None
            target = find_target(session, row.kind, row.id)
            if target is None:
                session.delete(session.get(FixityObject, row.id))
                session.commit()
                continue
            claimed = try_claim(session, row.id, worker, lease_for(target.size, rate))
            session.commit()
            if claimed:
                return target


def find_target(session: Session, kind: str, object_id: uuid.UUID) -> Target | None:
    """The stored object behind a queue row, or None when it is not stored (any more)."""
    if kind == "raw":
        found = session.execute(
            select(File, Proposal, Project.slug)
            .join(Measurement, File.measurement_id == Measurement.id)
            .join(Experiment, Measurement.experiment_id == Experiment.id)
            .join(Sample, Experiment.sample_id == Sample.id)
            .join(Proposal, Sample.proposal_id == Proposal.id)
            .join(Project, Proposal.project_id == Project.id)
            .where(File.id == object_id, File.state == "stored")
        ).first()
        if found is None:
            return None
        row, proposal, slug = found
        bucket, path = proposal.raw_bucket, row.path
    else:
        found = session.execute(
            select(DerivedFile, Proposal, Project.slug)
            .join(File, DerivedFile.source_file_id == File.id)
            .join(Measurement, File.measurement_id == Measurement.id)
            .join(Experiment, Measurement.experiment_id == Experiment.id)
            .join(Sample, Experiment.sample_id == Sample.id)
            .join(Proposal, Sample.proposal_id == Proposal.id)
            .join(Project, Proposal.project_id == Project.id)
            .where(DerivedFile.id == object_id, DerivedFile.state == "stored")
        ).first()
        if found is None or not found[0].sha256:
            return None
        row, proposal, slug = found
        bucket, path = row.bucket, row.key
    return Target(
        row.id,
        kind,
        proposal.id,
        f"{slug}/{proposal.number}",
        bucket,
        row.key,
        path,
        row.sha256,
        row.size,
    )


# --- one check --------------------------------------------------------------------------------


def paced(rate: float | None, stop: Callable[[float], bool] | None) -> Callable[[int], None]:
    """An `on_chunk` that sleeps so the read stays under `rate` bytes/s; `stop(seconds)` waits
    and returns True when the process is told to stop (then the read is abandoned)."""
    started, read = time.monotonic(), 0

    def on_chunk(size: int) -> None:
        nonlocal read
        read += size
        wait = (read / rate - (time.monotonic() - started)) if rate else 0.0
        if stop is not None and stop(max(wait, 0.0)):
            raise Interrupted
        if stop is None and wait > 0:
            time.sleep(wait)

    return on_chunk


def check(
    catalog: Catalog,
    target: Target,
    rate: float | None = None,
    stop: Callable[[float], bool] | None = None,
) -> Outcome:
    """Read the object once and compare; S3 trouble is an `error` outcome, never an exception."""
    try:
        found = catalog.storage.read_sha256(target.bucket, target.key, paced(rate, stop))
    except StorageError as exc:
        return Outcome("error", f"Could not read s3://{target.bucket}/{target.key}: {exc}")
    if found is None:
        return Outcome(
            "missing", f"s3://{target.bucket}/{target.key} is not in object storage any more."
        )
    actual, size = found
    if actual != target.sha256:
        return Outcome(
            "mismatch",
            f"s3://{target.bucket}/{target.key} has SHA-256 {actual} ({size} bytes); the "
            f"catalog recorded {target.sha256} ({target.size} bytes) at upload.",
            actual,
        )
    return Outcome("ok", "", actual)


def record(
    catalog: Catalog, target: Target, outcome: Outcome, worker: str, pass_id: int | None = None
) -> Outcome:
    """Keep the check and make it the object's last result; frees the claim."""
    at = now()
    with catalog.session() as session:
        session.add(
            FixityCheck(
                object_id=target.id,
                kind=target.kind,
                proposal_id=target.proposal_id,
                pass_id=pass_id,
                bucket=target.bucket,
                key=target.key,
                expected_sha256=target.sha256,
                actual_sha256=outcome.actual,
                result=outcome.result,
                detail=outcome.detail,
                checked_at=at,
                checked_by=worker,
            )
        )
        session.execute(
            update(FixityObject)
            .where(FixityObject.id == target.id)
            .values(
                last_checked_at=at,
                last_result=outcome.result,
                last_detail=outcome.detail,
                size=target.size,
                sha256=target.sha256,
                claimed_by="",
                claimed_until=None,
            )
        )
        session.commit()
    return Outcome(outcome.result, outcome.detail, outcome.actual, at)


def release(catalog: Catalog, target: Target) -> None:
    """Give a claimed object back unchecked (the process is stopping)."""
    with catalog.session() as session:
        session.execute(
            update(FixityObject)
            .where(FixityObject.id == target.id)
            .values(claimed_by="", claimed_until=None)
        )
        session.commit()
