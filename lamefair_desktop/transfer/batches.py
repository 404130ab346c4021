"""Running the upload queue: claim what is ours, then upload it in batches per measurement.

A part of the Uploader (upload.py): one plan request and one complete request per batch of
small files (they are bound by requests, not bandwidth), two batches in flight so that one's
requests overlap the other's PUTs, and files waiting for the network retried now and then.
A batch's small files are read whole and hashed before its plan request, which carries their
SHA-256 for the PUTs to sign; BATCH_BYTES bounds the memory that holds them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor

from lamefair_desktop.catalog.client import CatalogError, CatalogUnreachable, SignInRequired
from lamefair_desktop.transfer.elsewhere import POLL_SECONDS, Awaited
from lamefair_desktop.transfer.errors import UploadError
from lamefair_desktop.transfer.progress import Meter
from lamefair_desktop.transfer.queue import QueuedFile
from lamefair_desktop.transfer.source import PREREAD_LIMIT, Preread, preread
from lamefair_desktop.transfer.states import ACTIVE_STATES, SENT, UploadState

BATCH_SIZE = 64  # files per plan/complete request; smaller batches report "stored" sooner
# Small files read ahead per batch (memory: x batches in flight). 64 MiB, not 32: each plan or
# completion request costs the catalog ~13 ms of CPU whatever its size, and 4 MiB files made 50
# requests per 200 files at 32 MiB (26 at 64: catalog 0.93 -> 0.67 CPU-s, the client's peak RSS
# 168 -> 260 MiB). 128 MiB saved little more and delayed the first PUT behind reading 128 MiB
# (peak RSS ~350 MiB).
BATCH_BYTES = 64 * 1024 * 1024
BATCHES_IN_FLIGHT = 2


class BatchRunner:
    multipart_from = PREREAD_LIMIT + 1  # smallest size seen going in parts (the server decides)

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
                ready = [i for i in ours if i.state != UploadState.WAITING]
                if ready:
                    self._run_batches(ready, cancel)
                elif ours:  # only files waiting for the network: pause, then try them again
                    if patience is not None and waited >= patience:
                        break
                    if cancel.wait(self.settings.retry_waiting_after):
                        break
                    waited += self.settings.retry_waiting_after
                    for item in ours:
                        self.queue.set_state(item.file_id, UploadState.QUEUED)
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
        return self.queue.counts(server=self.client.catalog_key)

    def _run_batches(self, ready: list[QueuedFile], cancel: threading.Event) -> None:
        groups: dict[str, list[QueuedFile]] = {}
        for item in ready:
            groups.setdefault(item.measurement_id, []).append(item)
        batches = [
            (measurement_id, batch)
            for measurement_id, items in groups.items()
            for batch in _batches(items)
        ]
        slabs = _Slabs()  # for this run only: an idle engine holds no read-ahead memory
        # Two batches in flight: one's plan and complete requests overlap the other's PUTs.
        with ThreadPoolExecutor(BATCHES_IN_FLIGHT) as pipeline:
            list(
                pipeline.map(
                    lambda batch: (
                        None
                        if cancel.is_set()
                        else self._upload_batch(batch[0], batch[1], cancel, slabs)
                    ),
                    batches,
                )
            )

    def _report(self, item: QueuedFile, state: str, detail: str) -> None:
        """Progress for a file another process sent (or is sending) for this run."""
        self._emit(item, Meter(item.size if state == UploadState.STORED else 0), state, detail)

    def _upload_batch(
        self, measurement_id: str, items: list[QueuedFile], cancel: threading.Event, slabs: _Slabs
    ) -> None:
        """Plans for the whole batch in one request, the bytes in parallel, then one request
        completing every single-PUT file: small files are bound by requests, not bandwidth."""
        slab = slabs.take(sum(i.size for i in items if self._reads_ahead(i)))
        try:  # every PUT from the slab has ended when this returns: the next batch may reuse it
            self._send_batch(measurement_id, items, cancel, slab)
        finally:
            slabs.give(slab)

    def _reads_ahead(self, item: QueuedFile) -> bool:
        return item.size <= PREREAD_LIMIT and item.size < self.multipart_from

    def _send_batch(
        self, measurement_id: str, items: list[QueuedFile], cancel: threading.Event, slab: bytearray
    ) -> None:
        reads = self._read_small(items, memoryview(slab))
        # A small file that could not be read goes on its own: its upload names the problem.
        alone = [i for i in items if self._reads_ahead(i) and i.file_id not in reads]
        if alone:
            self._in_parallel(lambda item: self.upload_one(item, cancel), alone)
            items = [i for i in items if i not in alone]
            if not items:
                return
        by_id = {item.file_id: item for item in items}
        try:
            answer = self.client.upload_plans(
                measurement_id, list(by_id), {i: r.sha256 for i, r in reads.items()}
            )
        except (CatalogUnreachable, SignInRequired) as exc:
            for item in items:
                self._hold(item, Meter(), exc)
            return
        except CatalogError:
            answer = None  # a server without the batch routes: one request per file
        if answer is None:
            self._in_parallel(
                lambda item: self.upload_one(item, cancel, read=reads.get(item.file_id)), items
            )
            return
        for refused in answer["errors"]:
            item = by_id[refused["file"]]
            if refused.get("state") == UploadState.STORED:
                self._stored(item, Meter())
            elif refused.get("state") == "changed":
                self._give_up(item, Meter(), refused["detail"])
            else:
                self._fail(item, Meter(), refused["detail"])
        planned = [(by_id[p["file"]], p["plan"]) for p in answer["plans"]]
        for item, plan in planned:
            if plan["method"] == "multipart" and item.file_id in reads:
                # Read for nothing: this server's threshold is lower than ours. Files this
                # large are not read ahead again (see _read_small).
                self.multipart_from = min(self.multipart_from, item.size)

        hashes: dict[str, str] = {}  # of the files sent, for their completion

        def upload(pair: tuple[QueuedFile, dict]) -> str:
            item, plan = pair
            read = reads.pop(item.file_id, None)  # its buffer is let go once sent
            result = self.upload_one(item, cancel, plan, defer_complete=True, read=read)
            if result == SENT:
                hashes[item.file_id] = read.sha256 if read else self.queue.get(item.file_id).sha256
            return result

        results = self._in_parallel(upload, planned)
        reads.clear()
        sent = [item for (item, _), result in zip(planned, results, strict=True) if result == SENT]
        if not sent:
            return
        try:
            done = self.client.complete_uploads(
                measurement_id, [(i.file_id, hashes.get(i.file_id)) for i in sent]
            )
        except (CatalogUnreachable, SignInRequired) as exc:
            for item in sent:
                self._hold(item, Meter(), exc)
            return
        for stored in done["files"]:
            self._stored(by_id[stored["id"]], Meter())
        for refused in done["errors"]:
            self._fail(by_id[refused["file"]], Meter(), refused["detail"])

    def _read_small(self, items: list[QueuedFile], slab: memoryview) -> dict[str, Preread]:
        """The batch's small files read whole into the slab and hashed, in parallel (hashlib
        and reads let go of the GIL). A file that cannot be read is left out: its own upload
        says why."""
        places: dict[str, memoryview] = {}
        start = 0
        for item in items:
            if self._reads_ahead(item) and start + item.size <= len(slab):
                places[item.file_id] = slab[start : start + item.size]
                start += item.size

        def read(item: QueuedFile) -> Preread | None:
            if not self._reads_ahead(item):
                return None
            try:
                return preread(item, places.get(item.file_id))
            except (UploadError, OSError):
                return None

        workers = max(1, min(4, len(items)))
        with ThreadPoolExecutor(workers) as pool:
            found = list(pool.map(read, items))
        return {i.file_id: r for i, r in zip(items, found, strict=True) if r is not None}

    def _in_parallel(self, work: Callable, items: list) -> list:
        # Shared between the batches in flight: about file_concurrency PUTs at once in total.
        workers = max(1, self.settings.file_concurrency // BATCHES_IN_FLIGHT)
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(work, items))


class _Slabs:
    """The buffers that batches read their small files into, reused from batch to batch.

    A new bytearray for each file was zeroed and faulted in while holding the GIL (py-spy --gil
    put it at 18 % of the GIL's time at 200 x 4 MiB). In the A/B, the client's CPU fell by only
    ~2.5 % (3.0 -> 2.9 CPU-s), but its peak RSS fell from 235 to 210 MiB.
    The pool keeps at most BATCHES_IN_FLIGHT slabs, and each is sized to the largest batch that
    used it.
    """

    def __init__(self) -> None:
        self._free: list[bytearray] = []
        self._lock = threading.Lock()

    def take(self, size: int) -> bytearray:
        with self._lock:
            fitting = [slab for slab in self._free if len(slab) >= size]
            if fitting:
                slab = min(fitting, key=len)
                self._free.remove(slab)
                return slab
        return bytearray(size)

    def give(self, slab: bytearray) -> None:
        with self._lock:
            self._free.append(slab)
            self._free.sort(key=len)
            del self._free[:-BATCHES_IN_FLIGHT]


def _batches(items: list[QueuedFile]) -> list[list[QueuedFile]]:
    """At most BATCH_SIZE files and BATCH_BYTES of small files' bytes each (a large file, sent
    in parts from a pool of its own, counts as none)."""
    batches: list[list[QueuedFile]] = []
    current: list[QueuedFile] = []
    held = 0
    for item in items:
        small = item.size if item.size <= PREREAD_LIMIT else 0
        if current and (len(current) >= BATCH_SIZE or held + small > BATCH_BYTES):
            batches.append(current)
            current, held = [], 0
        current.append(item)
        held += small
    if current:
        batches.append(current)
    return batches
