"""The bucket browser's grid view: the same listing as the table, as thumbnails (thumbnail_grid.py).

Each NXem shows the thumbnail the catalog keeps beside it, a raw file its NXem's; folders and
files without one keep their usual icon.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QAbstractItemView

from lamefair_desktop.ui.models.bucket_model import ENTRY_ROLE
from lamefair_desktop.ui.panels.thumbnail_grid import ThumbnailGrid, ThumbnailProxy
from lamefair_desktop.ui.thumbnail_icons import ThumbnailIcons


def entry_thumbnail(index: QModelIndex) -> tuple[str, str] | None:
    entry = index.data(ENTRY_ROLE)
    return (entry.thumbnail, entry.thumbnail_sha256) if entry and entry.thumbnail else None


class BucketGrid(ThumbnailGrid):
    def __init__(self, icons: ThumbnailIcons, parent=None) -> None:
        super().__init__(ThumbnailProxy(icons, entry_thumbnail), parent=parent)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
