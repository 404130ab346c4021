"""One download the window (or a script) asks for: files and folders of a bucket into a folder,
progress summed over all of them, and for a preview the preview cache trimmed afterwards.

Kept out of the widgets: it is plain work on a worker thread and takes the settings already loaded
(a settings file broken since is the settings' error, said where the settings are read).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.home.preview_cache import trim
from lamefair_desktop.transfer.download import Downloader, DownloadProgress, RemoteObject


@dataclass(frozen=True)
class Wanted:
    remote: RemoteObject
    is_folder: bool  # a folder: everything under `remote.key` as a prefix


@dataclass(frozen=True)
class Downloaded:
    paths: tuple[Path, ...]
    for_preview: bool


@dataclass(frozen=True)
class PreviewCache:
    folder: Path
    max_bytes: int


def download(
    client: CatalogClient,
    wanted: list[Wanted],
    folder: Path,
    *,
    report: Callable[[tuple[int, int, str]], None],
    cancel: threading.Event,
    preview_cache: PreviewCache | None = None,
) -> Downloaded:
    """Fetch everything wanted into `folder`; `report((bytes done, bytes in all, label))`."""
    total = sum(w.remote.size or 0 for w in wanted if not w.is_folder)
    done_before: dict[str, int] = {}

    def progress(event: DownloadProgress) -> None:
        done_before[event.relative_path] = event.bytes_done
        report((sum(done_before.values()), total, event.relative_path))

    downloader = Downloader(client, progress=progress)
    try:
        paths: list[Path] = []
        for item in wanted:
            if item.is_folder:
                paths += downloader.prefix(item.remote.bucket, item.remote.key, folder, cancel)
            else:
                paths.append(downloader.object(item.remote, folder, cancel))
        if preview_cache is not None:
            trim(preview_cache.folder, preview_cache.max_bytes, frozenset(paths))
        return Downloaded(tuple(paths), preview_cache is not None)
    finally:
        downloader.close()
