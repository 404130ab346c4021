"""Downloads through presigned GETs: streamed to a temporary file, resumed with HTTP Range,
checked against the catalog's SHA-256, then renamed into place. Never a partial file under the
final name; a download interrupted (network, full disk, kill) continues where it stopped.

Large files go as parallel ranges (ranged_download.py), others as one stream
(stream_download.py). The files of a folder below the ranged threshold go a few at a time: one
small file's GET leaves the link idle while it is set up, written and synced. DownloadError and
StoredCopyChanged live with the answer checks (storage_answers.py) and are imported from here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import httpx

from lamefair_catalog.shared import InvalidName, sanitize_relative_path
from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.catalog.retry import (
    CancelEvent,
    Cancelled,
    EitherEvent,
    RetryPolicy,
)
from lamefair_desktop.catalog.tls import UntrustedCertificate, http_client
from lamefair_desktop.transfer.ranged_download import (
    RANGE_SIZE,
    RANGED_THRESHOLD,
    STREAMS,
    RangedFetch,
    SharedUrl,
    sidecar_path,
)
from lamefair_desktop.transfer.storage_answers import DownloadError, StoredCopyChanged
from lamefair_desktop.transfer.stream_download import StreamFetch

PARTIAL_SUFFIX = ".lamefair-partial"
FILES_AT_ONCE = 4  # a folder's files below the ranged threshold, fetched side by side


@dataclass(frozen=True)
class RemoteObject:
    """Something to fetch: where it goes locally and what it must hash to."""

    bucket: str
    key: str
    relative_path: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class DownloadProgress:
    relative_path: str
    bytes_done: int
    size: int | None
    state: str  # "downloading", "verified", "failed"
    error: str = ""


UrlSource = Callable[[], str]


class Downloader:
    def __init__(
        self,
        client: CatalogClient,
        progress: Callable[[DownloadProgress], None] | None = None,
        attempts: int = 6,
        backoff: float = 0.5,
        ranged_threshold: int = RANGED_THRESHOLD,
        range_size: int = RANGE_SIZE,
        streams: int = STREAMS,
        files_at_once: int = FILES_AT_ONCE,
    ) -> None:
        self.client = client
        self.progress = progress
        self.attempts = attempts
        self.backoff = backoff
        self.ranged_threshold, self.range_size, self.streams = ranged_threshold, range_size, streams
        self.files_at_once = max(1, files_at_once)
        self._emit_lock = threading.Lock()  # streams and files in parallel report one at a time
        self.http = http_client(
            client.ca_bundle, timeout=httpx.Timeout(120.0, connect=10.0), follow_redirects=True
        )

    def close(self) -> None:
        self.http.close()

    # --- what to fetch ------------------------------------------------------------------------

    def file(self, file_id: str, out_dir: Path, cancel: threading.Event | None = None) -> Path:
        """A catalog file by id, saved under its relative path inside `out_dir`."""
        info = self.client.download_url(file_id)
        target = _inside(out_dir, info["path"])
        self.fetch(
            lambda: self.client.download_url(file_id)["url"],
            target,
            size=info["size"],
            sha256=info["sha256"],
            label=info["path"],
            first_url=info["url"],
            cancel=cancel,
        )
        return target

    def object(
        self, obj: RemoteObject, out_dir: Path, cancel: threading.Event | None = None
    ) -> Path:
        """One object of a bucket (the bucket browser), saved as `relative_path` in `out_dir`."""
        target = _inside(out_dir, obj.relative_path)
        self.fetch(
            lambda: self.client.presign_keys(obj.bucket, [obj.key])[0]["url"],
            target,
            size=obj.size,
            sha256=obj.sha256,
            label=obj.relative_path,
            cancel=cancel,
        )
        return target

    def list_prefix(self, bucket: str, prefix: str) -> list[RemoteObject]:
        """Every object below `prefix`, with the SHA-256 the catalog knows for it."""
        prefix = prefix.strip("/")
        base = f"{prefix}/" if prefix else ""
        found: list[RemoteObject] = []
        folders = [base]
        while folders:
            folder = folders.pop()
            cursor = None
            while True:
                page = self.client.list_objects(bucket, folder, cursor)
                folders += page["folders"]
                for obj in page["objects"]:
                    relative = obj["key"][len(base) :] if base else obj["key"]
                    top = PurePosixPath(prefix).name if prefix else bucket
                    found.append(
                        RemoteObject(
                            bucket,
                            obj["key"],
                            f"{top}/{relative}",
                            obj["size"],
                            obj.get("sha256"),
                        )
                    )
                cursor = page["next_cursor"]
                if not cursor:
                    break
        return sorted(found, key=lambda o: o.key)

    def prefix(
        self, bucket: str, prefix: str, out_dir: Path, cancel: threading.Event | None = None
    ) -> list[Path]:
        """A whole folder of a bucket, paths below `prefix` kept."""
        objects = self.list_prefix(bucket, prefix)
        urls: dict[str, str] = {}
        for start in range(0, len(objects), 1000):
            batch = objects[start : start + 1000]
            for signed in self.client.presign_keys(bucket, [o.key for o in batch]):
                urls[signed["key"]] = signed["url"]
        stop = threading.Event()  # one file failed: start no other, stop those under way
        halt = EitherEvent(stop, cancel) if cancel is not None else stop
        failures: list[BaseException] = []  # the first is the cause; the others were stopped

        def one(obj: RemoteObject) -> Path | None:
            if halt.is_set():
                return None
            target = _inside(out_dir, obj.relative_path)
            try:
                self.fetch(
                    lambda: self.client.presign_keys(bucket, [obj.key])[0]["url"],
                    target,
                    size=obj.size,
                    sha256=obj.sha256,
                    label=obj.relative_path,
                    first_url=urls[obj.key],
                    cancel=halt,
                )
            except BaseException as exc:
                with self._emit_lock:
                    failures.append(exc)
                stop.set()
                return None
            return target

        large = [o for o in objects if self._ranged(o.size)]  # each one uses every stream
        with ThreadPoolExecutor(self.files_at_once, thread_name_prefix="download") as pool:
            futures = [pool.submit(one, o) for o in objects if not self._ranged(o.size)]
            written = [path for future in futures if (path := future.result()) is not None]
        for obj in large:
            if (path := one(obj)) is not None:
                written.append(path)
        if failures:
            raise failures[0]
        return written

    def _ranged(self, size: int | None) -> bool:
        return size is not None and size >= max(1, self.ranged_threshold)

    # --- fetching -----------------------------------------------------------------------------

    def _emit(self, label: str, done: int, size: int | None, state: str, error: str = "") -> None:
        if self.progress is not None:
            with self._emit_lock:
                self.progress(DownloadProgress(label, done, size, state, error))

    def fetch(
        self,
        url_source: UrlSource,
        target: Path,
        *,
        size: int | None,
        sha256: str | None,
        label: str,
        first_url: str | None = None,
        cancel: CancelEvent | None = None,
    ) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DownloadError(
                f"{label}: cannot create the folder {target.parent}: {exc.strerror}; "
                "choose another destination."
            ) from None
        partial = target.with_name(target.name + PARTIAL_SUFFIX)
        resumed = partial.exists()
        fetch = self._fetch_ranged if self._ranged(size) else self._fetch_stream
        done, digest = fetch(url_source, first_url, partial, size, sha256, label, cancel)
        if sha256 is not None and digest != sha256 and resumed:
            # The partial file came from an earlier run: the mismatch may be its bytes, not the
            # stored object's. Start from zero once; a second mismatch is the stored copy.
            partial.unlink(missing_ok=True)
            sidecar_path(partial).unlink(missing_ok=True)
            done, digest = fetch(url_source, None, partial, size, sha256, label, cancel)
        if sha256 is not None and digest != sha256:
            raise self._changed(label, partial, done, size)
        os.replace(partial, target)
        sidecar_path(partial).unlink(missing_ok=True)
        self._emit(label, done, size, "verified")

    def _changed(self, label: str, partial: Path, done: int, size: int | None) -> StoredCopyChanged:
        partial.unlink(missing_ok=True)
        sidecar_path(partial).unlink(missing_ok=True)
        self._emit(label, done, size, "failed", "storage changed outside lamefair")
        return StoredCopyChanged(
            f"The stored copy of {label} differs from what was uploaded: storage was changed "
            "outside lamefair. Downloading again will not help; ask the catalog's administrator "
            "to restore it from the original."
        )

    def _fetch_stream(
        self,
        url_source: UrlSource,
        first_url: str | None,
        partial: Path,
        size: int | None,
        sha256: str | None,
        label: str,
        cancel: CancelEvent | None,
    ) -> tuple[int, str]:
        """Fill `partial` with one GET, resumed with Range (stream_download.py)."""
        return StreamFetch(
            self.http,
            url_source,
            first_url,
            partial,
            size=size,
            label=label,
            emit=lambda done, state="downloading", error="": self._emit(
                label, done, size, state, error
            ),
            changed=lambda done: self._changed(label, partial, done, size),
            policy=RetryPolicy(self.attempts, self.backoff, max_backoff=10.0),
            cancel=cancel,
        ).run()

    def _fetch_ranged(
        self,
        url_source: UrlSource,
        first_url: str | None,
        partial: Path,
        size: int | None,
        sha256: str | None,
        label: str,
        cancel: CancelEvent | None,
    ) -> tuple[int, str]:
        """Fill `partial` with parallel ranges (ranged_download.py): (bytes, SHA-256 hex)."""
        assert size is not None
        ranged = RangedFetch(
            self.http,
            SharedUrl(url_source, first_url),
            partial,
            size=size,
            sha256=sha256,
            label=label,
            emit=lambda done: self._emit(label, done, size, "downloading"),
            changed=lambda: StoredCopyChanged(label),  # the streams stop; cleaned up below
            policy=RetryPolicy(self.attempts, self.backoff, max_backoff=10.0),
            cancel=cancel,
            range_size=self.range_size,
            streams=self.streams,
        )
        try:
            return size, ranged.run()
        except StoredCopyChanged:  # every stream has stopped: nothing writes the files again
            raise self._changed(label, partial, 0, size) from None
        except Cancelled:
            raise DownloadError(
                f"{label}: cancelled; run the download again to continue."
            ) from None
        except UntrustedCertificate as exc:
            raise DownloadError(f"{label}: {exc}") from None


def _inside(out_dir: Path, relative: str) -> Path:
    """`out_dir/relative`, refusing anything that would land outside `out_dir`. The names
    reserved in uploads are fine here: a measurement's README.txt is saved like any file."""
    try:
        clean = (
            sanitize_relative_path(relative, reserved_names=False)
            if relative.strip()
            else "download"
        )
    except InvalidName as exc:
        raise DownloadError(f"Refusing to save {relative!r}: {exc}") from None
    return Path(out_dir) / clean
