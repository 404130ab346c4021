"""Files in parts: each byte read once, hashed for its part and for the whole file, sent in parallel.

- One reader (the calling thread) reads the parts in order into a fixed pool of buffers. Each
  part's SHA-256 (what its presigned URL signs, so S3 checks it) and the whole file's SHA-256 (what
  the catalog records on completion) are computed from that one read; the buffer then goes to a
  sender thread. Memory stays at the pool: (concurrency + PRESIGN_BATCH) x part size.
- Part URLs are asked for in batches: while every sender is busy the reader hashes up to
  PRESIGN_BATCH parts ahead and presigns them in one request, so presigning overlaps sending and
  costs a round trip per batch, not per part. An idle sender never waits for a batch to fill.
- Resuming (after kill -9, a network cut, a restart): parts the queue recorded, or that S3 holds
  but we never recorded, are not sent again. They are read again locally, only to carry the whole
  file's SHA-256 through them; a recorded part that now hashes differently means the file changed.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.catalog.retry import CancelEvent
from lamefair_desktop.transfer.errors import Interrupted, SourceChanged
from lamefair_desktop.transfer.progress import Meter
from lamefair_desktop.transfer.queue import DonePart, QueuedFile, UploadQueue
from lamefair_desktop.transfer.s3_requests import S3Requests, read_into

PRESIGN_BATCH = 4  # parts hashed ahead and presigned in one request while every sender is busy
MULTIPART_FILES_AT_ONCE = 2  # files sending parts at once: their buffer pools are what RSS is


class PartSender:
    def __init__(
        self,
        client: CatalogClient,
        queue: UploadQueue,
        requests: S3Requests,
        concurrency: int,
    ) -> None:
        self.client = client
        self.queue = queue
        self.requests = requests
        self.concurrency = concurrency
        self.sent_parts: list[tuple[str, int]] = []  # (file id, part number) S3 accepted from us
        self._lock = threading.Lock()
        self._files = threading.BoundedSemaphore(MULTIPART_FILES_AT_ONCE)

    def send(
        self,
        item: QueuedFile,
        plan: dict,
        meter: Meter,
        cancel: CancelEvent,
        stopped: Callable[[], bool],
        progressed: Callable[[], None],
    ) -> str:
        """Every part S3 does not hold yet; returns the whole file's SHA-256 (hex).

        `stopped()` is asked before each part (it may raise Paused) and `progressed()` after each.
        """
        with self._files:
            return _FileParts(self, item, plan, meter, cancel, stopped, progressed).run()


class _FileParts:
    """One file's pass over its parts (see the module docstring)."""

    def __init__(self, owner: PartSender, item, plan, meter, cancel, stopped, progressed) -> None:
        self.owner, self.item, self.meter, self.cancel = owner, item, meter, cancel
        self.stopped, self.progressed = stopped, progressed
        self.upload_id, self.part_size = plan["upload_id"], plan["part_size"]
        self.count = plan["part_count"]
        self.held = {p["number"]: p for p in plan["parts_done"]}
        self.errors: list[Exception] = []
        self.futures: list[Future] = []
        self.pending: list[tuple[int, memoryview, str]] = []  # hashed, not presigned yet
        self.busy = 0  # parts handed to senders and not finished
        self.state = threading.Lock()

    def run(self) -> str:
        owner, item = self.owner, self.item
        owner.queue.set_upload(item.file_id, self.upload_id, self.part_size, self.count)
        known = owner.queue.parts(item.file_id, self.upload_id)
        self.meter.add(sum(p.size for n, p in known.items() if n in self.held))
        self.progressed()
        whole = hashlib.sha256()
        pool_size = owner.concurrency + PRESIGN_BATCH
        self.free: queue.Queue[memoryview] = queue.Queue()
        for _ in range(min(pool_size, self.count)):
            self.free.put(memoryview(bytearray(self.part_size)))
        read_all = False
        with ThreadPoolExecutor(owner.concurrency) as self.senders:
            try:
                for number in range(1, self.count + 1):
                    if self.errors or self.stopped():
                        break
                    offset = (number - 1) * self.part_size
                    length = min(self.part_size, item.size - offset)
                    buffer = self._free_buffer()
                    if buffer is None:
                        break
                    data = buffer[:length]
                    read_into(item.local_path, offset, data)
                    digest = hashlib.sha256(data).hexdigest()
                    whole.update(data)
                    if number in self.held:
                        self._already_stored(number, digest, length, known)
                        self.free.put(buffer)
                        continue
                    self.pending.append((number, buffer, digest))
                    if self._should_presign(number):
                        self._presign_and_hand_out()
                else:
                    read_all = True
                if not self.errors:
                    self._presign_and_hand_out()
            except BaseException:
                for future in self.futures:
                    future.cancel()
                raise
            finally:
                for future in self.futures:
                    if not future.cancelled():
                        future.exception()  # wait: no sender may outlive its buffers
        if self.errors:
            raise self.errors[0]
        if not read_all:  # stopped part-way: the whole-file hash covers only some of it
            raise Interrupted(f"{item.rel_path}: interrupted")
        return whole.hexdigest()

    # --- the reader's side ---------------------------------------------------------------------

    def _free_buffer(self) -> memoryview | None:
        """A buffer a sender gave back; parts waiting for a batch are presigned first rather
        than leaving the reader and the senders waiting on each other."""
        while True:
            try:
                return self.free.get_nowait()
            except queue.Empty:
                pass
            if self.pending:
                self._presign_and_hand_out()
            try:
                return self.free.get(timeout=0.2)
            except queue.Empty:
                if self.errors or self.cancel.is_set():
                    return None

    def _should_presign(self, number: int) -> bool:
        with self.state:
            idle = self.busy < self.owner.concurrency
        return idle or len(self.pending) >= PRESIGN_BATCH or number == self.count

    def _presign_and_hand_out(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        try:
            signed = self.owner.client.presign_parts(
                self.item.file_id, [(number, digest) for number, _, digest in batch]
            )
        except Exception:
            self.pending = batch + self.pending
            raise
        urls = {p["number"]: (p["url"], p["headers"]) for p in signed}
        for number, buffer, digest in batch:
            with self.state:
                self.busy += 1
            self.futures.append(
                self.senders.submit(self._send_part, number, buffer, digest, urls[number])
            )

    def _already_stored(
        self, number: int, digest: str, length: int, known: dict[int, DonePart]
    ) -> None:
        """A part S3 holds: not sent again; recorded if a previous run died before recording
        it; a recorded one must hash as it did when it was sent."""
        recorded = known.get(number)
        if recorded is None:
            etag = self.held[number]["etag"]
            part = DonePart(number, etag, digest, self.held[number]["size"])
            self.owner.queue.record_part(self.item.file_id, self.upload_id, part)
        elif recorded.sha256 != digest:
            raise SourceChanged(
                f"{self.item.rel_path}: part {number}, sent before, reads differently now; "
                "the file changed. Add it again as a new measurement."
            )
        if recorded is None:
            self.meter.add(length)
            self.progressed()

    # --- a sender's side -----------------------------------------------------------------------

    def _send_part(
        self, number: int, buffer: memoryview, digest: str, presigned: tuple[str, dict]
    ) -> None:
        item, owner = self.item, self.owner
        offset = (number - 1) * self.part_size
        length = min(self.part_size, item.size - offset)
        data = buffer[:length]
        fresh = {"url": presigned}

        def url_of(refresh: bool) -> tuple[str, dict]:
            if refresh:  # expired while it waited or was retried
                again = owner.client.presign_parts(item.file_id, [(number, digest)])[0]
                fresh["url"] = (again["url"], again["headers"])
            return fresh["url"]

        def reread() -> None:
            read_into(item.local_path, offset, data)
            if hashlib.sha256(data).hexdigest() != digest:
                raise SourceChanged(
                    f"{item.rel_path}: part {number} reads differently now; the file changed."
                )

        try:
            if self.errors or self.stopped():
                return
            response = owner.requests.put(
                url_of,
                lambda: data,
                f"{item.rel_path} part {number}",
                self.cancel,
                reread,
                length=length,
            )
            record = DonePart(number, response.headers["etag"], digest, length)
            owner.queue.record_part(item.file_id, self.upload_id, record)
            with owner._lock:
                owner.sent_parts.append((item.file_id, number))
            self.meter.add(length)
            self.progressed()
        except Exception as exc:  # noqa: BLE001 - raised again by the reader (run)
            self.errors.append(exc)
        finally:
            with self.state:
                self.busy -= 1
            self.free.put(buffer)
