"""The upload engine: register a measurement, then move its files to S3 through presigned URLs.

- Each file is hashed (SHA-256) before registration; the catalog stores that hash and every PUT
  signs a checksum, so S3 itself refuses corrupted bytes.
- Files up to the server's threshold go in one PUT; larger ones in parts (parallel, bounded memory:
  about `part_concurrency` x part size), each part committed to the durable queue as S3 accepts it.
- A restarted engine resumes from the queue and from the parts S3 reports, sending none twice.
- Network errors and expired URLs are retried with backoff; a part S3 refuses for its checksum is
  read again from the source; a file that changed since it was queued fails, nothing is stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import httpx

from lamefair_catalog.shared import InvalidName, sanitize_path_set, sanitize_relative_path
from lamefair_desktop.catalog.client import (
    CatalogClient,
    CatalogError,
    CatalogUnreachable,
    SignInRequired,
)
from lamefair_desktop.catalog.tls import UntrustedCertificate, http_client
from lamefair_desktop.hashing import sha256_of
from lamefair_desktop.transfer.claims import Claims
from lamefair_desktop.transfer.elsewhere import POLL_SECONDS, Awaited
from lamefair_desktop.transfer.queue import ACTIVE_STATES, DonePart, QueuedFile, UploadQueue
from lamefair_desktop.transfer.reconcile import give_up

BATCH_SIZE = 64  # files per plan/complete request; smaller batches report "stored" sooner
BATCHES_IN_FLIGHT = 2


class UploadError(Exception):
    """A file cannot be uploaded as it is; the message says which and what to do."""


class SourceChanged(UploadError):
    """The file on disk is no longer the one registered: the upload can never complete, so the
    catalog is told to abort it (a row `uploading` for ever, parts left in S3, otherwise)."""


class Paused(Exception):
    pass


class Interrupted(UploadError):
    """The run was asked to stop (the app quits) before a part was sent: the file is not
    broken, it goes back to the queue and resumes from its recorded parts next time."""


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


@dataclass(frozen=True)
class FileProgress:
    file_id: str
    measurement_id: str
    path: str
    size: int
    bytes_done: int
    rate: float  # bytes per second, smoothed
    eta: float | None  # seconds
    state: str
    error: str = ""


@dataclass(frozen=True)
class MeasurementProgress:
    measurement_id: str
    files: int
    files_stored: int
    files_failed: int
    bytes_done: int
    size: int
    rate: float
    eta: float | None


class MeasurementTotals:
    """Folds per-file progress into per-measurement progress (thread-safe, O(1) per event: a
    measurement of thousands of files sends thousands of events)."""

    def __init__(self) -> None:
        self._files: dict[str, dict[str, FileProgress]] = {}
        self._sums: dict[str, list[float]] = {}  # size, done, rate of uploading, stored, failed
        self._lock = threading.Lock()

    def update(self, event: FileProgress) -> MeasurementProgress:
        with self._lock:
            files = self._files.setdefault(event.measurement_id, {})
            sums = self._sums.setdefault(event.measurement_id, [0, 0, 0.0, 0, 0])
            for sign, item in ((-1, files.get(event.file_id)), (1, event)):
                if item is None:
                    continue
                sums[0] += sign * item.size
                sums[1] += sign * item.bytes_done
                sums[2] += sign * (item.rate if item.state == "uploading" else 0.0)
                sums[3] += sign * (item.state == "stored")
                sums[4] += sign * (item.state == "failed")
            files[event.file_id] = event
            size, done, rate, stored, failed = sums
            count = len(files)
        rate = max(rate, 0.0)
        return MeasurementProgress(
            event.measurement_id,
            count,
            int(stored),
            int(failed),
            int(done),
            int(size),
            rate,
            (size - done) / rate if rate > 0 else None,
        )


@dataclass(frozen=True)
class LocalFile:
    path: Path
    rel_path: str
    size: int
    mtime_ns: int


def collect_files(inputs: list[Path]) -> list[LocalFile]:
    """Files and folders as dropped: folders keep their relative paths (with their own name)."""
    found: list[LocalFile] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            for path in sorted(p for p in item.rglob("*") if p.is_file()):
                rel = path.relative_to(item.parent).as_posix()
                found.append(_local(path, rel))
        elif item.is_file():
            found.append(_local(item, item.name))
        else:
            raise UploadError(f"{item} does not exist or is not a regular file.")
    try:
        sanitize_path_set([entry.rel_path for entry in found])  # the catalog's own rules
    except InvalidName as exc:
        raise UploadError(str(exc)) from None
    return found


def _local(path: Path, rel: str) -> LocalFile:
    stat = path.stat()
    return LocalFile(path.resolve(), rel, stat.st_size, stat.st_mtime_ns)


class _Meter:
    """Bytes done and a smoothed rate for one file; thread-safe."""

    def __init__(self, done: int = 0) -> None:
        self.done = done
        self.rate = 0.0
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self._last_done = done

    def add(self, count: int) -> None:
        with self._lock:
            self.done += count
            now = time.monotonic()
            if now - self._last >= 0.2:
                instant = (self.done - self._last_done) / (now - self._last)
                self.rate = instant if self.rate == 0 else 0.7 * self.rate + 0.3 * instant
                self._last, self._last_done = now, self.done


class Uploader:
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
        self.s3 = http_client(client.ca_bundle, timeout=httpx.Timeout(120.0, connect=10.0))
        self._paused: set[str] = set()
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self.sent_parts: list[tuple[str, int]] = []  # (file id, part number) S3 accepted from us
        self.retries: Counter[str] = Counter()  # why requests were repeated: for logs and tests
        self._local = threading.local()
        self.claims = Claims(queue.sessions)  # other processes on this data folder skip our files

    def close(self) -> None:
        self.s3.close()
        self.claims.close()

    # --- registering --------------------------------------------------------------------------

    def wait_until_stable(self, files: list[LocalFile], cancel: threading.Event) -> list[LocalFile]:
        """Files still being written (size or mtime changing) are not taken until they settle.

        A file untouched for longer than the quiet time is settled already: no need to wait.
        """
        quiet_ns = int(self.settings.stable_seconds * 1e9)
        if all(time.time_ns() - f.mtime_ns > quiet_ns for f in files):
            return files
        current = files
        for _ in range(self.settings.stable_checks):
            if cancel.wait(self.settings.stable_seconds):
                return current
            changed = []
            refreshed = []
            for item in current:
                now = _local(item.path, item.rel_path)
                refreshed.append(now)
                if (now.size, now.mtime_ns) != (item.size, item.mtime_ns):
                    changed.append(now.rel_path)
            current = refreshed
            if not changed:
                return current
        raise UploadError(
            f"{', '.join(changed[:3])} kept changing for "
            f"{self.settings.stable_checks * self.settings.stable_seconds:.0f} s; wait until the "
            "acquisition has finished writing, then add the files again."
        )

    def register(
        self,
        experiment_id: str,
        inputs: list[Path],
        *,
        instrument_pair: str = "generic",
        operator: str = "",
        description: str = "",
        cancel: threading.Event | None = None,
        hashing: Callable[[int, int], None] | None = None,
    ) -> dict:
        """Hash the files, register the measurement in the catalog, queue every file."""
        cancel = cancel or threading.Event()
        files = self.wait_until_stable(collect_files(inputs), cancel)
        return self.register_files(
            experiment_id,
            files,
            instrument_pair=instrument_pair,
            operator=operator,
            description=description,
            hashing=hashing,
        )

    def register_files(
        self,
        experiment_id: str,
        files: list[LocalFile],
        *,
        instrument_pair: str = "generic",
        operator: str = "",
        description: str = "",
        hashing: Callable[[int, int], None] | None = None,
        measurement_id: str | None = None,
        file_ids: dict[str, str] | None = None,
        known_sha256: dict[str, str] | None = None,
    ) -> dict:
        """Register settled files (relative paths as given) as one measurement and queue them.

        With `measurement_id` and `file_ids` chosen (and recorded) by the caller, calling again
        after a crash replays the same create, which the catalog answers idempotently: a watch
        folder never registers a file twice. `known_sha256` skips hashing what was hashed."""
        known_sha256 = known_sha256 or {}
        total = sum(f.size for f in files if f.rel_path not in known_sha256)
        done = 0
        tick_lock = threading.Lock()

        def tick(count: int) -> None:
            nonlocal done
            with tick_lock:
                done += count
                current = done
            if hashing is not None:
                hashing(current, total)

        # hashlib releases the GIL: several files hash at once on several cores.
        workers = max(1, min(4, os.cpu_count() or 1, len(files)))
        with ThreadPoolExecutor(workers) as pool:
            hashes = list(
                pool.map(
                    lambda f: known_sha256.get(f.rel_path) or sha256_of(f.path, progress=tick),
                    files,
                )
            )
        file_ids = file_ids or {}
        measurement = self.client.create_measurement(
            {
                "id": measurement_id or str(uuid.uuid4()),
                "experiment": experiment_id,
                "instrument_pair": instrument_pair,
                "operator": operator,
                "description": description,
                "files": [
                    {
                        "id": file_ids.get(f.rel_path) or str(uuid.uuid4()),
                        "path": f.rel_path,
                        "size": f.size,
                        "sha256": h,
                    }
                    for f, h in zip(files, hashes, strict=True)
                ],
            }
        )
        by_path = {
            sanitize_relative_path(f.rel_path): (f, h) for f, h in zip(files, hashes, strict=True)
        }
        queued = []
        for registered in measurement["files"]:
            local, digest = by_path[registered["path"]]
            queued.append(
                QueuedFile(
                    file_id=registered["id"],
                    measurement_id=measurement["id"],
                    server=self.client.catalog_key,
                    local_path=str(local.path),
                    rel_path=registered["path"],
                    size=local.size,
                    mtime_ns=local.mtime_ns,
                    sha256=digest,
                    state="queued",
                    upload_id=None,
                    part_size=None,
                    part_count=None,
                    error="",
                )
            )
        self.queue.add(queued)
        return measurement

    # --- control ------------------------------------------------------------------------------

    def pause(self, file_id: str) -> None:
        with self._lock:
            self._paused.add(file_id)
        self.queue.set_state(file_id, "paused")
        self._announce(file_id)

    def resume(self, file_id: str) -> None:
        with self._lock:
            self._paused.discard(file_id)
        item = self.queue.get(file_id)
        if item is not None and item.state in ("paused", "failed", "cancelled"):
            self.queue.set_state(file_id, "queued")
            self._announce(file_id)

    def resume_after_sign_in(self) -> int:
        """Put every file that waited for a sign-in back in the queue; returns how many."""
        waiting = [i for i in self.queue.items(("signin",)) if i.server == self.client.catalog_key]
        for item in waiting:
            self.queue.set_state(item.file_id, "queued")
            self._announce(item.file_id)
        return len(waiting)

    def _announce(self, file_id: str) -> None:
        """A state set from outside a run (pause, resume, cancel) reaches the progress listener
        too: a file that is not uploading right now has no run to say so."""
        item = self.queue.get(file_id)
        if item is None or self.progress is None:
            return
        if item.state == "stored":
            done = item.size
        elif item.upload_id and item.part_size:
            done = min(item.size, len(self.queue.parts(file_id, item.upload_id)) * item.part_size)
        else:
            done = 0
        self.progress(
            FileProgress(
                item.file_id,
                item.measurement_id,
                item.rel_path,
                item.size,
                done,
                0.0,
                None,
                item.state,
                item.error,
            )
        )

    def cancel(self, file_id: str) -> None:
        """Stop the file and abort its multipart upload (S3 drops the parts).

        A file another process is sending is only marked `cancelled`: that process sees it
        and aborts its own upload. Aborting under it made its parts fail, and it wrote
        `failed` over the cancel."""
        with self._lock:
            self._cancelled.add(file_id)
        # Already stored, or unreachable: the queue state below is what matters.
        if not self.claims.holders([file_id]):
            with contextlib.suppress(CatalogError):
                self.client.abort_upload(file_id)
        self.queue.set_state(file_id, "cancelled")
        self._announce(file_id)

    def _stopped(self, file_id: str, cancel: threading.Event) -> bool:
        with self._lock:
            if file_id in self._cancelled:
                return True
            if file_id in self._paused:
                raise Paused
        if cancel.is_set() or self.claims.lost(file_id):
            return True
        told = self._told_elsewhere(file_id)
        if told == "paused":
            raise Paused
        if told == "cancelled":  # the upload is ours, so aborting it is ours too
            with contextlib.suppress(CatalogError):
                self.client.abort_upload(file_id)
            return True
        return False

    def _told_elsewhere(self, file_id: str) -> str | None:
        """`paused` or `cancelled` when another process (the window) set it on a file we are
        sending. One read per part: nothing next to the part itself."""
        item = self.queue.get(file_id)
        return item.state if item is not None and item.state in ("paused", "cancelled") else None

    # --- running ------------------------------------------------------------------------------

    def run(
        self,
        cancel: threading.Event | None = None,
        *,
        until_idle: bool = True,
        patience: float | None = None,
        wait_for: Collection[str] = (),
    ) -> dict:
        """Upload everything queued (or interrupted) for this server; returns counts by state.

        Files waiting for the network are retried every `retry_waiting_after` seconds; with
        `patience` the run returns after that many seconds of waiting (they stay queued).
        Only files this uploader claims are touched: another process on the same data folder
        keeps its own. Of those, the ones in `wait_for` are waited for (and taken over if their
        process dies); the rest are left to it.
        """
        cancel = cancel or threading.Event()
        waited = 0.0
        awaited = Awaited(self.claims, self.queue, wait_for, self._report)
        while not cancel.is_set():
            pending = [
                item
                for item in self.queue.items(ACTIVE_STATES)
                if item.server == self.client.catalog_key
            ]
            if not pending:
                break
            held = self.claims.take(item.file_id for item in pending)
            try:
                # Read again once claimed: another process may have finished some meanwhile.
                ours = [i for i in self.queue.items(ACTIVE_STATES) if i.file_id in held]
                ready = [i for i in ours if i.state != "waiting"]
                if ready:
                    self._run_batches(ready, cancel)
                elif ours:  # only files waiting for the network: pause, then try them again
                    if patience is not None and waited >= patience:
                        break
                    if cancel.wait(self.settings.retry_waiting_after):
                        break
                    waited += self.settings.retry_waiting_after
                    for item in ours:
                        self.queue.set_state(item.file_id, "queued")
                    continue
                elif not (until_idle and awaited.any_pending(pending)):
                    break  # what is left belongs to other processes
                elif cancel.wait(POLL_SECONDS):
                    break
            finally:
                self.claims.release(held)
            if not until_idle:
                break
        awaited.finished()
        counts: dict[str, int] = {}
        for item in self.queue.items():
            if item.server == self.client.catalog_key:
                counts[item.state] = counts.get(item.state, 0) + 1
        return counts

    def _run_batches(self, ready: list[QueuedFile], cancel: threading.Event) -> None:
        groups: dict[str, list[QueuedFile]] = {}
        for item in ready:
            groups.setdefault(item.measurement_id, []).append(item)
        batches = [
            (measurement_id, items[start : start + BATCH_SIZE])
            for measurement_id, items in groups.items()
            for start in range(0, len(items), BATCH_SIZE)
        ]
        # Two batches in flight: one's plan and complete requests overlap the other's PUTs.
        with ThreadPoolExecutor(BATCHES_IN_FLIGHT) as pipeline:
            list(
                pipeline.map(
                    lambda batch: (
                        None if cancel.is_set() else self._upload_batch(batch[0], batch[1], cancel)
                    ),
                    batches,
                )
            )

    def _report(self, item: QueuedFile, state: str, detail: str) -> None:
        """Progress for a file another process sent (or is sending) for this run."""
        self._emit(item, _Meter(item.size if state == "stored" else 0), state, detail)

    def _upload_batch(
        self, measurement_id: str, items: list[QueuedFile], cancel: threading.Event
    ) -> None:
        """Plans for the whole batch in one request, the bytes in parallel, then one request
        completing every single-PUT file: small files are bound by requests, not bandwidth."""
        by_id = {item.file_id: item for item in items}
        try:
            answer = self.client.upload_plans(measurement_id, list(by_id))
        except (CatalogUnreachable, SignInRequired) as exc:
            for item in items:
                self._hold(item, _Meter(), exc)
            return
        except CatalogError:
            answer = None  # a server without the batch routes: one request per file
        if answer is None:
            self._in_parallel(lambda item: self.upload_one(item, cancel), items)
            return
        for refused in answer["errors"]:
            item = by_id[refused["file"]]
            if refused.get("state") == "stored":
                self._stored(item, _Meter())
            else:
                self._fail(item, _Meter(), refused["detail"])
        planned = [(by_id[p["file"]], p["plan"]) for p in answer["plans"]]
        results = self._in_parallel(
            lambda pair: self.upload_one(pair[0], cancel, pair[1], defer_complete=True), planned
        )
        sent = [
            item for (item, _), result in zip(planned, results, strict=True) if result == "sent"
        ]
        if not sent:
            return
        try:
            done = self.client.complete_uploads(measurement_id, [i.file_id for i in sent])
        except (CatalogUnreachable, SignInRequired) as exc:
            for item in sent:
                self._hold(item, _Meter(), exc)
            return
        for stored in done["files"]:
            self._stored(by_id[stored["id"]], _Meter())
        for refused in done["errors"]:
            self._fail(by_id[refused["file"]], _Meter(), refused["detail"])

    def _in_parallel(self, work: Callable, items: list) -> list:
        # Shared between the batches in flight: about file_concurrency PUTs at once in total.
        workers = max(1, self.settings.file_concurrency // BATCHES_IN_FLIGHT)
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(work, items))

    def _hold(self, item: QueuedFile, meter: _Meter, exc: Exception) -> str:
        """Keep a file for later: the network is down, or the user must sign in again."""
        if self.claims.lost(item.file_id):
            return "elsewhere"  # another process has it now: its state is not ours to write
        if isinstance(exc, SignInRequired):
            message = "Waiting for you to sign in again; the upload resumes after that."
            self.queue.set_state(item.file_id, "signin", message)
            self._emit(item, meter, "signin", message)
            return "signin"
        self.queue.set_state(item.file_id, "waiting", str(exc))
        self._emit(item, meter, "waiting", str(exc))
        return "waiting"

    def _emit(self, item: QueuedFile, meter: _Meter, state: str, error: str = "") -> None:
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
            self.measurement_progress(self._totals.update(event))

    def upload_one(
        self,
        item: QueuedFile,
        cancel: threading.Event,
        plan: dict | None = None,
        *,
        defer_complete: bool = False,
    ) -> str:
        """Upload one queued file; the final state is written to the queue and returned.

        With `defer_complete`, a single-PUT file stops after its bytes are in S3 and returns
        "sent": the caller completes many such files in one request.
        """
        meter = _Meter()
        try:
            self._check_unchanged(item)
            self.queue.set_state(item.file_id, "uploading")
            self._emit(item, meter, "uploading")
            plan = plan or self.client.upload_plan(item.file_id)
            if plan["method"] == "single":
                self._single(item, plan, meter, cancel)
            else:
                self._multipart(item, plan, meter, cancel)
            if self._stopped(item.file_id, cancel):
                return self._interrupted(item, meter)
            self._check_unchanged(item)
            if plan["method"] == "single" and defer_complete:
                return "sent"
            if plan["method"] == "single":
                self.client.complete_upload(item.file_id, [])
            else:
                parts = self.queue.parts(item.file_id, plan["upload_id"])
                self.client.complete_upload(
                    item.file_id,
                    [(n, parts[n].etag, parts[n].sha256) for n in sorted(parts)],
                )
        except Paused:
            self.queue.set_state(item.file_id, "paused")
            self._emit(item, meter, "paused")
            return "paused"
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

    def _give_up(self, item: QueuedFile, meter: _Meter, message: str) -> str:
        state = self._fail(item, meter, message)
        if state == "failed":  # ours to end (not cancelled, not taken over): tell the catalog
            give_up(self.client, item.file_id, message)
        return state

    def _stored(self, item: QueuedFile, meter: _Meter) -> str:
        meter.done = item.size
        self.queue.set_state(item.file_id, "stored")
        self._emit(item, meter, "stored")
        return "stored"

    def _fail(self, item: QueuedFile, meter: _Meter, message: str) -> str:
        with self._lock:
            cancelled = item.file_id in self._cancelled
        if cancelled or self.claims.lost(item.file_id) or self._told_elsewhere(item.file_id):
            # The abort made the part in flight fail: that is the cancel, not an error. Or
            # another process took the file over and completed it: not an error either.
            return self._interrupted(item, meter)
        self.queue.set_state(item.file_id, "failed", message)
        self._emit(item, meter, "failed", message)
        return "failed"

    def _interrupted(self, item: QueuedFile, meter: _Meter) -> str:
        with self._lock:
            cancelled = item.file_id in self._cancelled
        if not cancelled and self.claims.lost(item.file_id):
            return "elsewhere"
        if not cancelled and (told := self._told_elsewhere(item.file_id)):
            self._emit(item, meter, told)  # another process's pause or cancel stands
            return told
        state = "cancelled" if cancelled else "queued"
        self.queue.set_state(item.file_id, state)
        self._emit(item, meter, state)
        return state

    def _check_unchanged(self, item: QueuedFile) -> None:
        try:
            stat = os.stat(item.local_path)
        except FileNotFoundError:
            raise SourceChanged(
                f"{item.local_path} was deleted after it was queued; nothing was stored for it. "
                "Add the file again if it still exists elsewhere."
            ) from None
        if (stat.st_size, stat.st_mtime_ns) != (item.size, item.mtime_ns):
            raise SourceChanged(
                f"{item.local_path} changed after it was queued (size or modification time); "
                "nothing was stored for it. Add it again as a new measurement."
            )

    # --- S3 requests --------------------------------------------------------------------------

    def _count(self, reason: str) -> None:
        with self._lock:
            self.retries[reason] += 1

    def _sleep(self, attempt: int, cancel: threading.Event) -> None:
        delay = min(self.settings.max_backoff, self.settings.backoff * 2**attempt)
        cancel.wait(delay * random.uniform(0.5, 1.0))

    def _part_buffer(self, size: int) -> memoryview:
        buffer = getattr(self._local, "buffer", None)
        if buffer is None or len(buffer) != size:
            buffer = memoryview(bytearray(size))
            self._local.buffer = buffer
        return buffer

    def _put(
        self,
        url_of: Callable[[bool], tuple[str, dict]],
        body_of: Callable[[], object],
        what: str,
        cancel: threading.Event,
        on_bad_digest: Callable[[], None],
        *,
        length: int,
    ) -> httpx.Response:
        """PUT with retries: fresh URL when expired, re-read source on BadDigest, backoff on
        network errors and 5xx. `url_of(refresh)` gives (url, headers)."""
        url, headers = url_of(False)
        headers = {**headers, "Content-Length": str(length)}
        bad_digests = 0
        for attempt in range(self.settings.attempts):
            if cancel.is_set():
                raise Interrupted(f"{what}: interrupted")
            try:
                response = self.s3.put(url, content=body_of(), headers=headers)
            except UntrustedCertificate as exc:  # waits like a network failure, saying why
                raise CatalogUnreachable(f"{what}: {exc}") from exc
            except httpx.TransportError:
                self._count("network")
                self._sleep(attempt, cancel)
                continue
            if response.status_code == 200:
                return response
            text = response.text
            if response.status_code == 403 and "expired" in text.lower():
                self._count("expired")
                url, headers = url_of(True)
                headers = {**headers, "Content-Length": str(length)}
                continue
            if response.status_code == 400 and "BadDigest" in text:
                self._count("bad_digest")
                bad_digests += 1
                if bad_digests > 1:
                    raise SourceChanged(
                        f"{what}: S3 refused the bytes twice because they do not match the "
                        "SHA-256 taken when the file was queued; the file has changed. Add it "
                        "again as a new measurement."
                    )
                on_bad_digest()
                continue
            if response.status_code >= 500:
                self._count("server")
                self._sleep(attempt, cancel)
                continue
            raise UploadError(f"{what}: S3 answered {response.status_code}: {text[:200]}")
        raise CatalogUnreachable(f"{what}: object storage is not reachable; will retry.")

    def _single(self, item: QueuedFile, plan: dict, meter: _Meter, cancel: threading.Event):
        current = {"plan": plan}

        def url_of(refresh: bool) -> tuple[str, dict]:
            if refresh:
                current["plan"] = self.client.upload_plan(item.file_id)
            return current["plan"]["url"], current["plan"]["headers"]

        def body():
            return _file_chunks(item.local_path, item.size)

        self._put(url_of, body, item.rel_path, cancel, lambda: None, length=item.size)
        meter.add(item.size)
        self._emit(item, meter, "uploading")

    def _multipart(self, item: QueuedFile, plan: dict, meter: _Meter, cancel: threading.Event):
        upload_id, part_size = plan["upload_id"], plan["part_size"]
        count = plan["part_count"]
        self.queue.set_upload(item.file_id, upload_id, part_size, count)
        known = self.queue.parts(item.file_id, upload_id)
        held = {p["number"]: p for p in plan["parts_done"]}
        for number, part in held.items():
            if number not in known:
                # S3 took the part but we died before writing it down: hash it, do not resend.
                offset = (number - 1) * part_size
                digest = sha256_of(Path(item.local_path), offset=offset, length=part["size"])
                record = DonePart(number, part["etag"], digest, part["size"])
                self.queue.record_part(item.file_id, upload_id, record)
                known[number] = record
        meter.add(sum(p.size for n, p in known.items() if n in held))
        todo = [n for n in range(1, count + 1) if n not in held]
        self._emit(item, meter, "uploading")

        def send(number: int) -> None:
            if self._stopped(item.file_id, cancel):
                return
            offset = (number - 1) * part_size
            length = min(part_size, item.size - offset)
            # One reused buffer per worker thread: allocating a fresh part for every request made
            # the allocator's arenas (and RSS) grow far past concurrency x part size.
            data = self._part_buffer(part_size)[:length]
            _read_into(item.local_path, offset, data)
            digest = hashlib.sha256(data).hexdigest()

            def url_of(refresh: bool) -> tuple[str, dict]:
                presigned = self.client.presign_parts(item.file_id, [(number, digest)])[0]
                return presigned["url"], presigned["headers"]

            def reread() -> None:
                _read_into(item.local_path, offset, data)
                if hashlib.sha256(data).hexdigest() != digest:
                    raise SourceChanged(
                        f"{item.rel_path}: part {number} reads differently now; the file changed."
                    )

            response = self._put(
                url_of,
                lambda: _view_chunks(data),
                f"{item.rel_path} part {number}",
                cancel,
                reread,
                length=length,
            )
            record = DonePart(number, response.headers["etag"], digest, length)
            self.queue.record_part(item.file_id, upload_id, record)
            with self._lock:
                self.sent_parts.append((item.file_id, number))
            meter.add(length)
            self._emit(item, meter, "uploading")

        with ThreadPoolExecutor(self.settings.part_concurrency) as pool:
            futures = [pool.submit(send, n) for n in todo]
            errors = []
            for future in as_completed(futures):
                if future.cancelled():
                    continue
                try:
                    future.result()
                except (Paused, UploadError, CatalogError, OSError) as exc:
                    errors.append(exc)
                    for other in futures:
                        other.cancel()  # parts not started yet; in-flight ones finish
            if errors:
                raise errors[0]


STREAM_CHUNK = 1024 * 1024


def _read_into(path: str, offset: int, target: memoryview) -> None:
    with open(path, "rb", buffering=0) as handle:
        handle.seek(offset)
        filled = 0
        while filled < len(target):
            count = handle.readinto(target[filled:])
            if not count:
                raise SourceChanged(f"{path} is shorter than when it was queued; it changed.")
            filled += count


def _view_chunks(view: memoryview):
    for start in range(0, len(view), STREAM_CHUNK):
        yield view[start : start + STREAM_CHUNK]


def _file_chunks(path: str, size: int):
    """The file streamed in 1 MiB reads (Content-Length is set by the caller)."""
    with open(path, "rb") as handle:
        sent = 0
        while block := handle.read(STREAM_CHUNK):
            sent += len(block)
            yield block
    if sent != size:
        raise SourceChanged(f"{path} changed size while it was being sent.")
