"""The upload engine: register a measurement, then move its files to S3 through presigned URLs.

- Each byte is read once: a file is registered by size, and its SHA-256 is computed from the same
  buffers that are sent (source.py, multipart.py). Every PUT signs a checksum, so S3 itself refuses
  corrupted bytes; the catalog records the whole file's SHA-256 on completion.
- Files up to the server's threshold go in one PUT (read whole, hashed, then sent from memory);
  larger ones in parts (parallel, bounded memory), each part committed to the durable queue as S3
  accepts it.
- A restarted engine resumes from the queue and from the parts S3 reports, sending none twice.
- Network errors and expired URLs are retried with backoff; a part S3 refuses for its checksum is
  read again from the source; a file that changed since it was queued, or while it was sent,
  fails and nothing is stored.

Here: the queue states of a run, control (pause, resume, cancel) and batching. Registering is in
registration.py, the S3 requests and their retries in s3_requests.py, parts in multipart.py,
reading the source in source.py, progress accounting in progress.py.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lamefair_desktop.catalog.client import (
    CatalogClient,
    CatalogError,
    CatalogUnreachable,
    SignInRequired,
)
from lamefair_desktop.catalog.retry import CancelEvent, EitherEvent, RetryPolicy
from lamefair_desktop.hashing import sha256_of
from lamefair_desktop.transfer.batches import BatchRunner
from lamefair_desktop.transfer.claims import Claims
from lamefair_desktop.transfer.control import UploadControl
from lamefair_desktop.transfer.errors import Interrupted, Paused, SourceChanged, UploadError
from lamefair_desktop.transfer.multipart import PartSender
from lamefair_desktop.transfer.progress import (
    FileProgress,
    MeasurementProgress,
    MeasurementTotals,
    Meter,
)
from lamefair_desktop.transfer.queue import QueuedFile, UploadQueue
from lamefair_desktop.transfer.reconcile import give_up
from lamefair_desktop.transfer.registration import (
    LocalFile,
    collect_files,
    register_files,
    wait_until_stable,
)
from lamefair_desktop.transfer.s3_requests import S3Requests, file_chunks
from lamefair_desktop.transfer.source import (
    PREREAD_LIMIT,
    Preread,
    preread,
    snapshot,
    still_unchanged,
)
from lamefair_desktop.transfer.states import ELSEWHERE, SENT, UploadState


@dataclass(frozen=True)
class UploadSettings:
    part_concurrency: int = 6  # parts in flight per file; memory ~ this x part size
    file_concurrency: int = 10  # files in flight at once (small files are latency-bound)
    stable_seconds: float = 1.0  # a file must keep its size and mtime this long before it is taken
    stable_checks: int = 30  # how many times to wait for a file that is still being written
    attempts: int = 8  # per part, for network errors and 5xx, with backoff
    backoff: float = 0.5
    max_backoff: float = 30.0
    retry_waiting_after: float = 5.0  # seconds before a file that waited for the network retries


class Uploader(UploadControl, BatchRunner):
    def __init__(
        self,
        client: CatalogClient,
        queue: UploadQueue,
        settings: UploadSettings | None = None,
        progress: Callable[[FileProgress], None] | None = None,
        measurement_progress: Callable[[MeasurementProgress], None] | None = None,
    ) -> None:
        self.client = client
        self.measurement_progress = measurement_progress
        self._totals = MeasurementTotals()
        self.queue = queue
        self.settings = settings or UploadSettings()
        self.progress = progress
        policy = RetryPolicy(
            self.settings.attempts, self.settings.backoff, self.settings.max_backoff
        )
        self.requests = S3Requests(client.ca_bundle, policy)
        self.parts = PartSender(client, queue, self.requests, self.settings.part_concurrency)
        self._paused: set[str] = set()
        self._cancelled: set[str] = set()
        # Per file being sent: set by its Pause or Cancel, so that a retry's wait ends at once.
        self._stops: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.claims = Claims(queue.sessions)  # other processes on this data folder skip our files

    @property
    def sent_parts(self) -> list[tuple[str, int]]:
        """(file id, part number) of every part S3 accepted from this uploader."""
        return self.parts.sent_parts

    @property
    def retries(self):
        """Why requests were repeated (a Counter by reason): for logs and tests."""
        return self.requests.retries

    def close(self) -> None:
        self.requests.close()
        self.claims.close()

    # --- registering --------------------------------------------------------------------------

    def register(
        self,
        experiment_id: str,
        inputs: list[Path],
        *,
        instrument_pair: str = "generic",
        operator: str = "",
        description: str = "",
        cancel: threading.Event | None = None,
    ) -> dict:
        """Register the measurement in the catalog (by size: nothing is read), queue every file
        (intake.py also queues their conversions: callers go through it)."""
        files = wait_until_stable(
            collect_files(inputs),
            cancel or threading.Event(),
            self.settings.stable_seconds,
            self.settings.stable_checks,
        )
        return self.register_files(
            experiment_id,
            files,
            instrument_pair=instrument_pair,
            operator=operator,
            description=description,
        )

    def register_files(self, experiment_id: str, files: list[LocalFile], **options) -> dict:
        """registration.register_files with this uploader's catalog and queue."""
        return register_files(self.client, self.queue, experiment_id, files, **options)

    def _hold(self, item: QueuedFile, meter: Meter, exc: Exception) -> str:
        """Keep a file for later: the network is down, or the user must sign in again."""
        if self.claims.lost(item.file_id):
            return ELSEWHERE  # another process has it now: its state is not ours to write
        if isinstance(exc, SignInRequired):
            message = "Waiting for you to sign in again; the upload resumes after that."
            self.queue.set_state(item.file_id, UploadState.SIGNIN, message)
            self._emit(item, meter, UploadState.SIGNIN, message)
            return UploadState.SIGNIN
        self.queue.set_state(item.file_id, UploadState.WAITING, str(exc))
        self._emit(item, meter, UploadState.WAITING, str(exc))
        return UploadState.WAITING

    def _emit(self, item: QueuedFile, meter: Meter, state: str, error: str = "") -> None:
        if self.progress is None and self.measurement_progress is None:
            return
        remaining = item.size - meter.done
        eta = remaining / meter.rate if meter.rate > 0 else None
        event = FileProgress(
            item.file_id,
            item.measurement_id,
            item.rel_path,
            item.size,
            meter.done,
            meter.rate,
            eta,
            state,
            error,
        )
        if self.progress is not None:
            self.progress(event)
        if self.measurement_progress is not None:
            if not self._totals.knows(item.measurement_id):
                self._seed_totals(item.measurement_id)
            self.measurement_progress(self._totals.update(event))

    def _seed_totals(self, measurement_id: str) -> None:
        """Every queued file of a measurement counts from its first event on: a measurement of
        two files is not 'done' when the first is stored."""
        for queued in self.queue.items(measurement_id=measurement_id):
            done = queued.size if queued.state == UploadState.STORED else 0
            self._totals.update(
                FileProgress(
                    queued.file_id,
                    measurement_id,
                    queued.rel_path,
                    queued.size,
                    done,
                    0.0,
                    None,
                    queued.state,
                    queued.error,
                )
            )

    def upload_one(
        self,
        item: QueuedFile,
        cancel: threading.Event,
        plan: dict | None = None,
        *,
        defer_complete: bool = False,
        read: Preread | None = None,
    ) -> str:
        """Upload one queued file; the final state is written to the queue and returned.

        With `defer_complete`, a single-PUT file stops after its bytes are in S3 and returns
        "sent" (its SHA-256 is then in the queue): the caller completes many such files in one
        request. `read`: the file already read whole, for a `plan` that signs its SHA-256.
        """
        meter = Meter()
        stop = threading.Event()  # this file's Pause or Cancel ends a retry's wait at once
        with self._lock:
            self._stops[item.file_id] = stop
        try:
            return self._upload_one(
                item, EitherEvent(cancel, stop), meter, plan, defer_complete, read
            )
        finally:
            with self._lock:
                self._stops.pop(item.file_id, None)

    def _upload_one(
        self,
        item: QueuedFile,
        cancel: EitherEvent,
        meter: Meter,
        plan: dict | None,
        defer_complete: bool,
        read: Preread | None,
    ) -> str:
        try:
            before = read.before if read else snapshot(item)
            self.queue.set_state(item.file_id, UploadState.UPLOADING)
            self._emit(item, meter, UploadState.UPLOADING)
            if plan is None:
                if read is None and item.size <= PREREAD_LIMIT and item.size < self.multipart_from:
                    read = preread(item)
                    before = read.before
                plan = self._plan(item, read)
            if plan["method"] == "single":
                sha256 = self._single(item, plan, meter, cancel, read)
            else:
                sha256 = self._multipart(item, plan, meter, cancel)
            if self._stopped(item.file_id, cancel):
                return self._interrupted(item, meter)
            still_unchanged(item, before)
            if item.sha256 and sha256 != item.sha256:
                raise SourceChanged(
                    f"{item.local_path} was sent with other bytes than it was registered with "
                    "(SHA-256); nothing was stored for it. Add it again as a new measurement."
                )
            self.queue.set_sha256(item.file_id, sha256)
            if plan["method"] == "single" and defer_complete:
                return SENT
            if plan["method"] == "single":
                self.client.complete_upload(item.file_id, [], sha256)
            else:
                parts = self.queue.parts(item.file_id, plan["upload_id"])
                self.client.complete_upload(
                    item.file_id,
                    [(n, parts[n].etag, parts[n].sha256) for n in sorted(parts)],
                    sha256,
                )
        except Paused:
            self.queue.set_state(item.file_id, UploadState.PAUSED)
            self._emit(item, meter, UploadState.PAUSED)
            return UploadState.PAUSED
        except Interrupted:
            return self._interrupted(item, meter)
        except SourceChanged as exc:
            return self._give_up(item, meter, str(exc))
        except UploadError as exc:
            return self._fail(item, meter, str(exc))
        except (CatalogUnreachable, SignInRequired) as exc:
            # Not a failure: the file waits, with its parts, for the network or a new sign-in.
            return self._hold(item, meter, exc)
        except CatalogError as exc:
            if exc.status == 409 and "already stored" in exc.detail:
                return self._stored(item, meter)
            if exc.status == 409 and "changed" in exc.detail:
                return self._give_up(item, meter, exc.detail)
            return self._fail(item, meter, str(exc))
        except FileNotFoundError:
            message = f"{item.local_path} was deleted while uploading."
            if Path(item.local_path).parent.is_dir():  # really deleted: end it in the catalog too
                return self._give_up(item, meter, message)
            # The whole folder is gone: an unplugged disk or unmounted share, most likely. Fail
            # here only, keeping the parts already in S3 for a retry once it is back.
            return self._fail(item, meter, f"{message[:-1]}, or its folder is not reachable.")
        except OSError as exc:
            return self._fail(item, meter, f"{item.local_path}: {exc.strerror or exc}")
        return self._stored(item, meter)

    def _plan(self, item: QueuedFile, read: Preread | None) -> dict:
        """The catalog's plan; a file over PREREAD_LIMIT that the server still sends in one PUT
        (its threshold is higher) is hashed first: the plan must sign its SHA-256."""
        sha256 = read.sha256 if read else (item.sha256 or None)
        try:
            return self.client.upload_plan(item.file_id, sha256)
        except CatalogError as exc:
            if exc.status != 422 or sha256 is not None or "sha256" not in exc.detail:
                raise
        return self.client.upload_plan(item.file_id, sha256_of(Path(item.local_path)))

    def _single(
        self,
        item: QueuedFile,
        plan: dict,
        meter: Meter,
        cancel: CancelEvent,
        read: Preread | None,
    ) -> str:
        """One PUT: from memory when the file was read whole, else streamed from disk (S3
        checks it against the SHA-256 the plan signed). Returns that SHA-256."""
        current = {"plan": plan}

        def url_of(refresh: bool) -> tuple[str, dict]:
            if refresh:
                current["plan"] = self._plan(item, read)
            return current["plan"]["url"], current["plan"]["headers"]

        if read is not None:
            body = lambda: read.data  # noqa: E731
            sha256 = read.sha256
        else:
            body = lambda: file_chunks(item.local_path, item.size)  # noqa: E731
            signed = plan["headers"]["x-amz-checksum-sha256"]  # what S3 will hold it to
            sha256 = base64.b64decode(signed).hex()
        self.requests.put(url_of, body, item.rel_path, cancel, lambda: None, length=item.size)
        meter.add(item.size)
        self._emit(item, meter, UploadState.UPLOADING)
        return sha256

    def _multipart(self, item: QueuedFile, plan: dict, meter: Meter, cancel: CancelEvent) -> str:
        return self.parts.send(
            item,
            plan,
            meter,
            cancel,
            stopped=lambda: self._stopped(item.file_id, cancel),
            progressed=lambda: self._emit(item, meter, UploadState.UPLOADING),
        )

    def _give_up(self, item: QueuedFile, meter: Meter, message: str) -> str:
        state = self._fail(item, meter, message)
        if (
            state == UploadState.FAILED
        ):  # ours to end (not cancelled, not taken over): tell the catalog
            give_up(self.client, item.file_id, message)
        return state

    def _stored(self, item: QueuedFile, meter: Meter) -> str:
        meter.done = item.size
        self.queue.set_state(item.file_id, UploadState.STORED)
        self._emit(item, meter, UploadState.STORED)
        return UploadState.STORED

    def _fail(self, item: QueuedFile, meter: Meter, message: str) -> str:
        with self._lock:
            cancelled = item.file_id in self._cancelled
        if cancelled or self.claims.lost(item.file_id) or self._told_elsewhere(item.file_id):
            # The abort made the part in flight fail: that is the cancel, not an error. Or
            # another process took the file over and completed it: not an error either.
            return self._interrupted(item, meter)
        self.queue.set_state(item.file_id, UploadState.FAILED, message)
        self._emit(item, meter, UploadState.FAILED, message)
        return UploadState.FAILED

    def _interrupted(self, item: QueuedFile, meter: Meter) -> str:
        with self._lock:
            cancelled = item.file_id in self._cancelled
        if not cancelled and self.claims.lost(item.file_id):
            return ELSEWHERE
        if not cancelled and (told := self._told_elsewhere(item.file_id)):
            self._emit(item, meter, told)  # another process's pause or cancel stands
            return told
        state = UploadState.CANCELLED if cancelled else UploadState.QUEUED
        self.queue.set_state(item.file_id, state)
        self._emit(item, meter, state)
        return state
