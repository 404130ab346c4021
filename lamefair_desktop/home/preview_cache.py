"""The preview cache (remote files opened in the preview): kept under the size set in Settings,
least recently used first out. Derived NXem files are not cache: the conversion queue owns them."""

from __future__ import annotations

import os
from pathlib import Path

from lamefair_desktop.home.settings import Settings


def preview_dir(settings: Settings) -> Path:
    """The folder of previews, from the settings already loaded (a file broken since they were
    read is reported where settings are read, by name, not by whatever read it again)."""
    return settings.cache_path() / "preview"


def trim(folder: Path, max_bytes: int, keep: frozenset[Path] = frozenset()) -> int:
    """Delete the least recently used files until `folder` holds at most `max_bytes`; files in
    `keep` (the one just opened) stay. Returns the bytes freed."""
    files = []
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                stat = path.stat()
                files.append((max(stat.st_atime, stat.st_mtime), stat.st_size, path))
        except OSError:
            continue  # removed meanwhile
    total = sum(size for _, size, _ in files)
    freed = 0
    for _, size, path in sorted(files):
        if total - freed <= max_bytes:
            break
        if path in keep:
            continue
        try:
            os.remove(path)
            freed += size
        except OSError:
            continue
    return freed
