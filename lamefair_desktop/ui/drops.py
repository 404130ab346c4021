"""Drops from outside the window: local files and folders only (STYLE.md: a drop always copies,
and nothing is done inside the drop handler; callers queue the work)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData


def dropped_paths(data: QMimeData) -> list[Path]:
    """Local files and folders of a drop; remote URLs (a browser's links) are not ours to take."""
    if not data.hasUrls():
        return []
    urls = data.urls()
    if not all(url.isLocalFile() for url in urls):
        return []
    return [Path(url.toLocalFile()) for url in urls]
