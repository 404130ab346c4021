"""The `.eln` archive written as a stream: each object goes from its presigned GET straight into
its zip entry, hashed in the same pass, so a 50 GB folder is never held in memory nor written to
disk twice (no temporary copy; only the archive itself, under a `.partial` name until complete).

Entries are stored, not deflated (images and HDF5 barely shrink and deflating 50 GB costs more
CPU than the transfer); the texts (README, metadata) are deflated. Every entry is ZIP64 so one
larger than 4 GiB needs no size known in advance.

Hazards: a presigned URL may expire between signing and the GET (the catalog's TTL can be
seconds): a 403 "expired" asks for a fresh URL. A cut connection resumes with `Range` into the
same entry, the hash going on where it stopped. A byte count or SHA-256 other than the
catalog's means storage changed behind lamefair's back: never retried, the export fails.
"""

from __future__ import annotations

import hashlib
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx

from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.catalog.retry import Cancelled, RetryLater, RetryNow, RetryPolicy
from lamefair_desktop.catalog.tls import UntrustedCertificate, http_client
from lamefair_desktop.export.plan import CrateFile, ExportError
from lamefair_desktop.transfer.storage_answers import (
    DownloadError,
    Expired,
    StoredCopyChanged,
    judge,
)

CHUNK = 1024 * 1024
SIGN_AHEAD = 50  # objects presigned in one request; fewer than a short TTL lets expire


class ExportCancelled(ExportError):
    """Stopped on request; the partial archive is removed."""


class ElnArchive:
    """A zip whose entries all sit in one top folder (the ELN profile's rule)."""

    def __init__(self, path: Path, top: str) -> None:
        self.path, self.top = path, top
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True)

    def _info(self, name: str, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(f"{self.top}/{name}", time.localtime()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        return info

    def write_text(self, name: str, text: str) -> None:
        self.zip.writestr(self._info(name, True), text.encode("utf-8"))

    def open_entry(self, name: str, compress: bool = False):
        return self.zip.open(self._info(name, compress), "w", force_zip64=True)

    def close(self) -> None:
        self.zip.close()


class ObjectStreamer:
    """Fetches objects of one proposal's buckets through presigned GETs into archive entries."""

    def __init__(
        self,
        client: CatalogClient,
        progress: Callable[[int], None],  # bytes just written
        cancel,
        attempts: int = 6,
        backoff: float = 0.5,
    ) -> None:
        self.client, self.progress, self.cancel = client, progress, cancel
        self.policy = RetryPolicy(attempts, backoff, max_backoff=10.0)
        self.http = http_client(
            client.ca_bundle, timeout=httpx.Timeout(120.0, connect=10.0), follow_redirects=True
        )
        self._urls: dict[tuple[str, str], str] = {}

    def close(self) -> None:
        self.http.close()

    def sign_ahead(self, files: list[CrateFile]) -> None:
        """Presign the next few objects in one request (per bucket)."""
        for bucket in {f.bucket for f in files}:
            keys = [f.key for f in files if f.bucket == bucket]
            for signed in self.client.presign_keys(bucket, keys):
                self._urls[(bucket, signed["key"])] = signed["url"]

    def _url(self, file: CrateFile, fresh: bool = False) -> str:
        if fresh or (file.bucket, file.key) not in self._urls:
            self.sign_ahead([file])
        return self._urls.pop((file.bucket, file.key))

    def copy(self, file: CrateFile, entry) -> tuple[int, str]:
        """Stream one object into `entry`: (bytes, SHA-256 hex), checked against the catalog's."""
        digest, done = hashlib.sha256(), 0
        url: str | None = self._url(file)

        def changed() -> StoredCopyChanged:
            return StoredCopyChanged(file.path)

        def once() -> None:
            nonlocal url, done
            if url is None:
                url = self._url(file, fresh=True)
            headers = {"Range": f"bytes={done}-"} if done else {}
            try:
                with self.http.stream("GET", url, headers=headers) as response:
                    judge(response, file.size, file.path, changed)
                    if response.status_code == 200 and done:
                        raise ExportError(f"{file.path}: storage ignored a resumed GET; try again.")
                    if response.status_code not in (200, 206):
                        raise DownloadError(
                            f"{file.path}: storage answered {response.status_code}; try later."
                        )
                    for block in response.iter_raw(CHUNK):
                        if self.cancel is not None and self.cancel.is_set():
                            raise Cancelled
                        entry.write(block)
                        digest.update(block)
                        done += len(block)
                        self.progress(len(block))
            except Expired:
                url = None
                raise RetryNow("expired") from None
            except UntrustedCertificate as exc:
                raise ExportError(f"{file.path}: {exc}") from None
            except httpx.TransportError as exc:
                url = None  # the old one may expire while we wait: sign again, then
                raise RetryLater("network", exc) from None

        try:
            self.policy.run(once, cancel=self.cancel)
        except Cancelled:
            raise ExportCancelled("The export was cancelled; nothing was kept.") from None
        except StoredCopyChanged:
            raise _tampered(
                file, f"its size differs from the catalog's {file.size} bytes"
            ) from None
        except RetryNow as exc:  # RetryLater too: the attempts are used up
            raise ExportError(
                f"{file.path}: the network or storage keeps failing ({exc.cause or exc}); "
                "run the export again."
            ) from None
        except DownloadError as exc:
            raise ExportError(str(exc)) from None
        sha256 = digest.hexdigest()
        if done != file.size:
            raise _tampered(file, f"storage sent {done} bytes, the catalog recorded {file.size}")
        if file.sha256 and sha256 != file.sha256:
            raise _tampered(file, "its SHA-256 differs from the one recorded when it was stored")
        return done, sha256


def _tampered(file: CrateFile, what: str) -> ExportError:
    return ExportError(
        f"The stored copy of {file.path} ({file.bucket}) does not match the catalog: {what}. "
        "Storage was changed outside lamefair; ask the catalog's administrator to restore it "
        "(the fixity report lists it). Nothing was exported."
    )
