"""Files in parts: parallel PUTs with bounded memory, each part recorded as S3 accepts it.

Memory stays near `concurrency` x part size: one buffer per worker thread, reused. Parts S3
already holds (a previous run died after S3 took them but before recording them) are hashed from
the source and recorded, never sent again.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from lamefair_desktop.catalog.client import CatalogClient, CatalogError
from lamefair_desktop.catalog.retry import CancelEvent
from lamefair_desktop.hashing import sha256_of
from lamefair_desktop.transfer.errors import Paused, SourceChanged, UploadError
from lamefair_desktop.transfer.progress import Meter
from lamefair_desktop.transfer.queue import DonePart, QueuedFile, UploadQueue
from lamefair_desktop.transfer.s3_requests import S3Requests, read_into, view_chunks


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
        self._local = threading.local()

    def _part_buffer(self, size: int) -> memoryview:
        # One reused buffer per worker thread: allocating a fresh part for every request made
        # the allocator's arenas (and RSS) grow far past concurrency x part size.
        buffer = getattr(self._local, "buffer", None)
        if buffer is None or len(buffer) != size:
            buffer = memoryview(bytearray(size))
            self._local.buffer = buffer
        return buffer

    def send(
        self,
        item: QueuedFile,
        plan: dict,
        meter: Meter,
        cancel: CancelEvent,
        stopped: Callable[[], bool],
        progressed: Callable[[], None],
    ) -> None:
        """Every part S3 does not hold yet; `stopped()` is asked before each part (it may raise
        Paused) and `progressed()` after each."""
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
        progressed()

        def send_part(number: int) -> None:
            if stopped():
                return
            offset = (number - 1) * part_size
            length = min(part_size, item.size - offset)
            data = self._part_buffer(part_size)[:length]
            read_into(item.local_path, offset, data)
            digest = hashlib.sha256(data).hexdigest()

            def url_of(refresh: bool) -> tuple[str, dict]:
                presigned = self.client.presign_parts(item.file_id, [(number, digest)])[0]
                return presigned["url"], presigned["headers"]

            def reread() -> None:
                read_into(item.local_path, offset, data)
                if hashlib.sha256(data).hexdigest() != digest:
                    raise SourceChanged(
                        f"{item.rel_path}: part {number} reads differently now; the file changed."
                    )

            response = self.requests.put(
                url_of,
                lambda: view_chunks(data),
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
            progressed()

        with ThreadPoolExecutor(self.concurrency) as pool:
            futures = [pool.submit(send_part, n) for n in todo]
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
