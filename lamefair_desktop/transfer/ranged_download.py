"""A large file as parallel ranged GETs, its SHA-256 checked in the same pass, resumable.

Why: one HTTP stream through Python is bound by one thread's receive loop and by the server
serving one read at a time; a few streams over different ranges keep both sides busy (aws-cli
does the same with 8 MiB ranges). Below the threshold (64 MiB: 8 ranges, enough to keep two
streams busy) one stream takes well under a second here, and a folder's small files already go
several at a time, so ranges would add requests and nothing else.

How the bytes go: `streams` workers each take the next range (`range_size` bytes), GET it with
`Range: bytes=a-b` and write the socket's blocks, about 1 MiB at a time with one `os.pwritev`, at
their offset into the preallocated partial file. SHA-256 is sequential, so a finished range keeps its blocks in memory until every
range before it has been hashed (the in-order frontier), then is hashed from those blocks; a
worker may not start a range more than `window` ranges past the frontier, which bounds memory to
about `window x range_size`. Nothing is read back from disk, except on resume.

Resume: a small JSON sidecar (hidden, next to the partial file, so watched folders skip it) lists
the finished ranges; it is rewritten (atomically) after a range's bytes are written. After a
kill the finished ranges are hashed again from disk as the frontier reaches them and only the
others are fetched. A partial file without a sidecar is the one-stream path's (a prefix of the
object): the ranges it holds whole count as finished. A kill -9 keeps written bytes (the page
cache) but a power cut may not: the SHA-256 at the end catches that, and download.py then starts
from zero once.

Hazards: the presigned URL is shared; when it expires, every stream sees a 403 at about the same
time, so it is replaced once per generation, not once per stream. One stream's fatal error
(StoredCopyChanged, a refusal, a full disk) stops the others at their next block. `os.pwritev`
and `os.pwrite` exist on POSIX only; elsewhere a lock around seek + write stands in for them.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from lamefair_desktop.catalog.retry import Cancelled, EitherEvent, RetryLater, RetryNow, RetryPolicy
from lamefair_desktop.transfer.storage_answers import DownloadError, Expired, judge

MiB = 1024 * 1024
RANGED_THRESHOLD = 64 * MiB  # from here on, ranges: at least 8 of them to share out
RANGE_SIZE = 8 * MiB  # aws-cli's default too; 128 GETs per GiB
STREAMS = 2  # measured on 2 cores: 3 or 4 streams were slower (GIL hand-offs), 1 slower still
CHUNK = 1024 * 1024


def sidecar_path(partial: Path) -> Path:
    return partial.with_name(f".{partial.name}.json")


class SharedUrl:
    """The presigned URL the streams share; an expired one is replaced once per generation."""

    def __init__(self, source: Callable[[], str], first: str | None) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._url = first or source()
        self._generation = 0

    def get(self) -> tuple[str, int]:
        with self._lock:
            return self._url, self._generation

    def refresh(self, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._url = self._source()
                self._generation += 1


class _Stopped(Exception):
    """Another stream failed, or Cancel: stop at the next block."""


class RangedFetch:
    """Fill `partial` with the `size` bytes at the URL; `run()` returns their SHA-256 (hex)."""

    def __init__(
        self,
        http: httpx.Client,
        url: SharedUrl,
        partial: Path,
        *,
        size: int,
        sha256: str | None,
        label: str,
        emit: Callable[[int], None],
        changed: Callable[[], Exception],
        policy: RetryPolicy,
        cancel: threading.Event | EitherEvent | None,
        range_size: int = RANGE_SIZE,
        streams: int = STREAMS,
    ) -> None:
        self.http, self.url, self.partial, self.size, self.label = http, url, partial, size, label
        self.sha256, self.emit, self.changed, self.policy = sha256, emit, changed, policy
        self.range_size, self.streams = range_size, max(1, streams)
        self.window = self.streams + 2  # ranges in memory at most: one per stream, two waiting
        self.count = -(-size // range_size)
        self.sidecar = sidecar_path(partial)
        self._stop = threading.Event()
        self._cancel = cancel
        self._halt = EitherEvent(self._stop, cancel) if cancel is not None else self._stop
        self._cond = threading.Condition()
        self._ready: dict[int, list[bytes]] = {}  # finished, not yet hashed: their blocks
        self._on_disk: set[int] = set()  # finished by an earlier run
        self._finished: set[int] = set()
        self._todo: list[int] = []
        self._frontier = 0  # every range below it is hashed
        self._hashing = False
        self._digest = hashlib.sha256()
        self._received = 0
        self._error: BaseException | None = None
        self._write_lock = threading.Lock()  # only where os.pwrite is missing
        self._progress_lock = threading.Lock()

    # --- the run ------------------------------------------------------------------------------

    def run(self) -> str:
        try:
            self._finished = self._load_sidecar()
            self._on_disk = set(self._finished)
            self._todo = [i for i in range(self.count) if i not in self._finished]
            self._received = sum(self._length(i) for i in self._finished)
            self._save_sidecar()  # before the partial file grows: a full-size one always has it
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)
            self._fd = os.open(self.partial, flags, 0o666)  # os.open's default 0o777: executable
            try:
                with open(self.partial, "rb") as self._reader:  # the hasher's, on resume
                    self._allocate()
                    self._advance()  # what an earlier run left: hashed again from disk
                    self._run_streams()
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
        except OSError as exc:
            raise self._os_error(exc) from exc
        return self._digest.hexdigest()

    def _run_streams(self) -> None:
        workers = [threading.Thread(target=self._work, daemon=True) for _ in range(self.streams)]
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                while worker.is_alive():
                    worker.join(0.2)
        except BaseException:  # Ctrl-C in the main thread: stop the streams, keep the file
            self._stop.set()
            for worker in workers:
                worker.join()
            raise
        if self._error is not None:
            raise self._error
        if self._frontier < self.count:
            raise Cancelled

    def _allocate(self) -> None:
        if os.fstat(self._fd).st_size == self.size:
            return
        os.ftruncate(self._fd, self.size)
        if not hasattr(os, "posix_fallocate"):
            return
        try:  # a full disk now, not half-way through
            os.posix_fallocate(self._fd, 0, self.size)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise
            # EINVAL/EOPNOTSUPP (ZFS, some network file systems): the sparse file works as well.

    def _work(self) -> None:
        try:
            while (index := self._take()) is not None:
                blocks = self._fetch(index)
                with self._cond:
                    self._ready[index] = blocks
                    self._finished.add(index)
                    self._save_sidecar()
                self._advance()
        except (Cancelled, _Stopped):
            pass
        except BaseException as exc:  # noqa: BLE001 (handed to run(), which raises it)
            with self._cond:
                if self._error is None:
                    self._error = exc
                self._stop.set()
                self._cond.notify_all()

    def _take(self) -> int | None:
        """The next range to fetch, once it is within the window; None when nothing is left."""
        with self._cond:
            while self._todo and not self._halt.is_set():
                if self._todo[0] < self._frontier + self.window:
                    return self._todo.pop(0)
                self._cond.wait(0.2)
        return None

    def _advance(self) -> None:
        """Hash the ranges at the frontier, in order, by whichever stream gets here first.

        The check for the next range and giving up the hasher's role happen under one lock, so
        a range finished meanwhile is either taken by this stream or finds no hasher and calls
        this itself."""
        with self._cond:
            if self._hashing:
                return  # the stream hashing now will take this range too
            self._hashing = True
        try:
            while True:
                with self._cond:
                    index = self._frontier
                    if index in self._ready:
                        blocks = self._ready.pop(index)
                    elif index in self._on_disk:
                        blocks = None
                    else:
                        self._hashing = False
                        return
                if blocks is None:
                    self._hash_from_disk(index)
                else:
                    for block in blocks:
                        self._digest.update(block)  # releases the GIL: the others keep going
                with self._cond:
                    self._frontier += 1
                    self._cond.notify_all()
        except BaseException:
            with self._cond:
                self._hashing = False
            raise

    def _hash_from_disk(self, index: int) -> None:
        self._reader.seek(index * self.range_size)
        left = self._length(index)
        while left:
            block = self._reader.read(min(CHUNK, left))
            if not block:
                raise DownloadError(f"{self.label}: the partial file shrank; run it again.")
            self._digest.update(block)
            left -= len(block)

    # --- one range ----------------------------------------------------------------------------

    def _length(self, index: int) -> int:
        return min(self.range_size, self.size - index * self.range_size)

    def _fetch(self, index: int) -> list[bytes]:
        """One range, retried by the policy, each try continuing after the bytes received."""
        start, length = index * self.range_size, self._length(index)
        blocks: list[bytes] = []
        got = 0

        def attempt() -> None:
            nonlocal got
            url, generation = self.url.get()
            headers = {"Range": f"bytes={start + got}-{start + length - 1}"}
            try:
                with self.http.stream("GET", url, headers=headers) as response:
                    judge(response, self.size, self.label, self.changed)
                    if response.status_code == 416:
                        raise self.changed()  # less is stored than the catalog recorded
                    if response.status_code != 206:
                        raise DownloadError(
                            f"{self.label}: storage answered {response.status_code} to a ranged "
                            "GET; try again later."
                        )
                    # Raw: the socket's own blocks (~64 KiB), not copied into 1 MiB chunks;
                    # written in batches of about CHUNK with one pwritev.
                    batch: list[bytes] = []
                    batched = 0
                    for block in response.iter_raw():
                        if got + batched + len(block) > length:
                            raise self.changed()
                        batch.append(block)
                        batched += len(block)
                        if batched >= CHUNK or got + batched == length:
                            self._write(batch, start + got)
                            blocks.extend(batch)
                            got += batched
                            self._progress(batched)
                            batch, batched = [], 0
                            if self._halt.is_set():
                                raise _Stopped
            except Expired:
                self.url.refresh(generation)
                raise RetryNow("expired") from None
            except httpx.TransportError as exc:
                raise RetryLater("network", exc) from None
            if got < length:
                raise RetryLater("network", "the answer ended early")

        try:
            self.policy.run(attempt, cancel=self._halt)
        except RetryLater:
            raise DownloadError(
                f"{self.label}: the network keeps failing ({self._received} of {self.size} bytes "
                "kept); run the download again to continue."
            ) from None
        except RetryNow:
            raise DownloadError(f"{self.label}: storage refused the download (403).") from None
        return blocks

    def _write(self, blocks: list[bytes], offset: int) -> None:
        if hasattr(os, "pwritev"):
            written = os.pwritev(self._fd, blocks, offset)
            if written == sum(len(b) for b in blocks):
                return
            rest = b"".join(blocks)[written:]  # a short write: rare on a local disk
            blocks, offset = [rest], offset + written
        for block in blocks:
            view = memoryview(block)
            while view:
                if hasattr(os, "pwrite"):
                    count = os.pwrite(self._fd, view, offset)
                else:
                    with self._write_lock:
                        os.lseek(self._fd, offset, os.SEEK_SET)
                        count = os.write(self._fd, view)
                view, offset = view[count:], offset + count

    def _progress(self, count: int) -> None:
        with self._progress_lock:  # counted and told in one go: the figures only ever grow
            self._received += count
            self.emit(self._received)

    # --- the sidecar --------------------------------------------------------------------------

    def _load_sidecar(self) -> set[int]:
        if not self.partial.exists():
            self.sidecar.unlink(missing_ok=True)
            return set()
        held = self.partial.stat().st_size
        try:
            saved = json.loads(self.sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # No sidecar: the one-stream path's prefix (or a run killed before its first range).
            if held > self.size:
                self.partial.unlink()
                return set()
            return set(range(held // self.range_size))
        plan = {"size": self.size, "range_size": self.range_size, "sha256": self.sha256}
        if {k: saved.get(k) for k in plan} != plan or held not in (0, self.size):
            self.partial.unlink()  # another object's or another plan's: start over
            return set()
        return {i for i in saved.get("done", []) if isinstance(i, int) and 0 <= i < self.count}

    def _save_sidecar(self) -> None:
        record = {
            "size": self.size,
            "range_size": self.range_size,
            "sha256": self.sha256,
            "done": sorted(self._finished),
        }
        temporary = self.sidecar.with_name(self.sidecar.name + ".tmp")
        temporary.write_text(json.dumps(record), encoding="utf-8")
        os.replace(temporary, self.sidecar)

    def _os_error(self, exc: OSError) -> DownloadError:
        if exc.errno == errno.ENOSPC:
            return DownloadError(
                f"{self.label}: the disk holding {self.partial.parent} is full ({self.size} bytes "
                "needed, a partial file kept); free some space and run the download again."
            )
        return DownloadError(f"{self.label}: cannot write {self.partial}: {exc.strerror}.")
