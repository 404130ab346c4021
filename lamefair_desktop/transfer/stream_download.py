"""A file below the ranged threshold (or of unknown size) as one GET, appended to its partial
file and hashed as it arrives; after a cut, the next GET asks `Range: bytes=N-` for the rest.

Kept apart from the parallel ranges (ranged_download.py) because its resume is simpler: the
partial file is always a prefix of the object, so its length is the whole record; on resume the
prefix is hashed again from disk. Hazard: a server that ignores Range answers 200 with the whole
object; appending it would double the prefix, so the file starts over.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import httpx

from lamefair_desktop.catalog.retry import (
    CancelEvent,
    Cancelled,
    RetryLater,
    RetryNow,
    RetryPolicy,
)
from lamefair_desktop.catalog.tls import UntrustedCertificate
from lamefair_desktop.transfer.storage_answers import (
    DownloadError,
    Expired,
    StoredCopyChanged,
    judge,
)

CHUNK = 1024 * 1024  # progress is told about once per CHUNK


class StreamFetch:
    """Fill `partial` up to `size` bytes, resuming what it holds; `run()` gives (bytes, SHA-256).

    Network errors are retried by the one policy (catalog/retry.py), each try resuming from the
    bytes already written; an expired URL is replaced at once."""

    def __init__(
        self,
        http: httpx.Client,
        url_source: Callable[[], str],
        first_url: str | None,
        partial: Path,
        *,
        size: int | None,
        label: str,
        emit: Callable[..., None],  # (bytes done, state="downloading", error="")
        changed: Callable[[int], StoredCopyChanged],  # (bytes done) -> the error, cleaned up
        policy: RetryPolicy,
        cancel: CancelEvent | None,
    ) -> None:
        self.http, self.url_source, self.first_url = http, url_source, first_url
        self.partial, self.size, self.label = partial, size, label
        self.emit, self.changed, self.policy, self.cancel = emit, changed, policy, cancel

    def run(self) -> tuple[int, str]:
        size, label, cancel = self.size, self.label, self.cancel
        got = _Partial(self.partial)
        url = self.first_url or self.url_source()

        def until_done() -> None:
            nonlocal url
            while size is None or got.done < size or size == 0:
                if cancel is not None and cancel.is_set():
                    raise Cancelled
                try:
                    finished = self._stream(url, got)
                except UntrustedCertificate as exc:
                    raise DownloadError(f"{label}: {exc}") from None
                except Expired:
                    url = self.url_source()
                    raise RetryNow("expired") from None
                except httpx.TransportError as exc:
                    raise RetryLater("network", exc) from None
                if finished or size is None or size == 0:
                    return

        try:
            self.policy.run(until_done, cancel=cancel)
        except Cancelled:
            raise DownloadError(
                f"{label}: cancelled; run the download again to continue."
            ) from None
        except RetryLater:
            raise DownloadError(
                f"{label}: the network keeps failing ({got.done} of {size} bytes kept); "
                "run the download again to continue."
            ) from None
        except RetryNow:
            raise DownloadError(f"{label}: storage refused the download (403).") from None
        if size is not None and got.done != size:
            raise DownloadError(f"{label}: got {got.done} bytes, expected {size}; try again.")
        return got.done, got.digest.hexdigest()

    def _stream(self, url: str, got: _Partial) -> bool:
        """One GET from the bytes already held to the end; True when nothing is left to ask."""
        size, label, cancel, partial = self.size, self.label, self.cancel, got.path
        headers = {"Range": f"bytes={got.done}-"} if got.done else {}
        try:
            with self.http.stream("GET", url, headers=headers) as response:
                judge(response, size, label, lambda: self.changed(got.done))
                if response.status_code == 416 and size is not None and got.done >= size:
                    return True
                if response.status_code == 416:  # less is stored than the catalog recorded
                    raise self.changed(got.done)
                if response.status_code not in (200, 206):
                    raise DownloadError(
                        f"{label}: storage answered {response.status_code}; try again later."
                    )
                if response.status_code == 200 and got.done:
                    # The server ignored the Range: start over rather than append twice.
                    got.restart()
                told = got.done
                with open(partial, "ab") as handle:
                    for block in response.iter_raw():  # the socket's blocks, not re-chunked
                        handle.write(block)
                        got.add(block)
                        if got.done - told >= CHUNK or got.done == size:
                            told = got.done
                            self.emit(got.done)
                            if cancel is not None and cancel.is_set():
                                break
                    handle.flush()
                    os.fsync(handle.fileno())
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                self.emit(got.done, "failed", "disk full")
                raise DownloadError(
                    f"{label}: the disk holding {partial.parent} is full ({got.done} bytes kept "
                    "in a partial file); free some space and run the download again."
                ) from exc
            raise DownloadError(f"{label}: cannot write {partial}: {exc.strerror}.") from exc
        return False


class _Partial:
    """The partial file and the running SHA-256 of what it holds (resumed from disk)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self.done = 0
        if path.exists():  # resume: hash what we already have, then ask for the rest
            self.done = path.stat().st_size
            with open(path, "rb") as handle:
                while block := handle.read(CHUNK):
                    self.digest.update(block)

    def add(self, block: bytes) -> None:
        self.digest.update(block)
        self.done += len(block)

    def restart(self) -> None:
        self.done, self.digest = 0, hashlib.sha256()
        self.path.unlink(missing_ok=True)
