"""The thumbnail cache (no Qt): PNGs of stored files, fetched from the catalog once, and PNGs of
local files, rendered here once; kept under the cache folder, least recently used out first.

Remote thumbnails are keyed by derived file id and the PNG's SHA-256 (a new conversion's picture
has another name, so a stale one is never shown); local ones by path, size and modification time.
In transfer/, not home/: it fetches through the catalog client and renders with nexus/, which sit
above home/ in the layers. Every method does I/O: call them on a worker (ui/thumbnail_icons.py does), never the UI thread.
Safe from several threads: each file is written under a temporary name, then renamed.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import httpx

from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.catalog.thumbnails import fetch_thumbnail
from lamefair_desktop.catalog.tls import http_client
from lamefair_desktop.home.preview_cache import trim
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.nexus.thumbnail import render_thumbnail

MAX_BYTES = 64 * 1024**2  # about 2,000 thumbnails of ~30 kB
TRIM_EVERY = 200  # stores between two trims (a trim walks the folder)


def thumbnail_dir(settings: Settings) -> Path:
    return settings.cache_path() / "thumbnails"


class ThumbnailCache:
    def __init__(self, folder: Path, client: CatalogClient | None = None) -> None:
        self.folder = folder
        self.client = client
        self._s3: httpx.Client | None = None
        self._lock = threading.Lock()
        self._none: set[str] = set()  # derived ids the catalog said have none (this session)
        self._stores = 0

    def close(self) -> None:
        if self._s3 is not None:
            self._s3.close()

    def remote(self, derived_id: str, sha256: str) -> bytes | None:
        """The stored thumbnail of a derived file, from here or fetched; None when it has none."""
        path = self.folder / "remote" / f"{derived_id}-{sha256[:16]}.png"
        cached = _read(path)
        if cached is not None or self.client is None or derived_id in self._none:
            return cached
        png = fetch_thumbnail(self.client, self._storage(), derived_id)
        if png is None:
            self._none.add(derived_id)
            return None
        self._store(path, png)
        return png

    def of_file(self, file: dict) -> bytes | None:
        """The thumbnail of a catalog file record (as cached: its `derived` list); a file whose
        record predates its NXem is asked about again."""
        derived = _with_thumbnail(file)
        if derived is None and self.client is not None and file.get("state") == "stored":
            derived = _with_thumbnail(self.client.get_file(str(file["id"])))
        return (
            None
            if derived is None
            else self.remote(str(derived["id"]), derived["thumbnail_sha256"])
        )

    def local(self, source: str | Path) -> bytes:
        """A local image's thumbnail, rendered once per version of the file; raises
        NexusEngineError (naming the file) for what is no image we read."""
        source = Path(source).resolve()
        stat = source.stat()
        name = hashlib.sha256(f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
        path = self.folder / "local" / f"{name[:32]}.png"
        cached = _read(path)
        if cached is not None:
            return cached
        png = render_thumbnail(source)
        self._store(path, png)
        return png

    def _storage(self) -> httpx.Client:
        with self._lock:
            if self._s3 is None:
                ca_bundle = self.client.ca_bundle if self.client is not None else None
                self._s3 = http_client(ca_bundle, timeout=httpx.Timeout(30.0, connect=10.0))
            return self._s3

    def _store(self, path: Path, png: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{threading.get_ident()}.part")
        partial.write_bytes(png)
        os.replace(partial, path)
        with self._lock:
            self._stores += 1
            due = self._stores % TRIM_EVERY == 0
        if due:
            trim(self.folder, MAX_BYTES, frozenset({path}))


def _with_thumbnail(file: dict) -> dict | None:
    return next((d for d in file.get("derived") or [] if d.get("thumbnail")), None)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
