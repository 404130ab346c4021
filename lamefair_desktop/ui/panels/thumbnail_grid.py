"""Thumbnail grids: the bucket browser's listing (bucket_grid.py) and the Find panel's results
(find_grid.py) as pictures, one implementation for both.

A QListView in icon mode over a table model, through a proxy whose icons are the thumbnails the
catalog keeps beside each NXem, fetched on the thumbnail pool as the view asks for them (never
on the UI thread). Only the first column is shown (a list view shows one), so the table's
sorting and paging carry over: scrolling to the end of the grid asks for the next page as the
table does.

Without placeholders the source's own icon shows for a row without a picture (the bucket
browser's folders and files); the Find panel gives placeholder tiles instead.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from PySide6.QtCore import QIdentityProxyModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListView

from lamefair_desktop.ui.thumbnail_icons import ThumbnailIcons, remote_key, squared

CELL = 160  # pixels of a thumbnail in the grid (they are rendered at 256)

# Where a row's picture comes from: (derived file id, SHA-256 the cache keys it by), or None.
ThumbnailOf = Callable[[QModelIndex], tuple[str, str] | None]


class Picture(StrEnum):
    """What a row's tile shows now."""

    THUMBNAIL = "thumbnail"
    LOADING = "loading"  # asked for, not here yet
    NONE = "none"  # it has none (not converted, or converted before thumbnails)


class ThumbnailProxy(QIdentityProxyModel):
    """A table model with thumbnails as its first column's icons. `placeholders`: icons for a
    row still loading and one without a picture; without them the source's own icon shows."""

    def __init__(
        self,
        icons: ThumbnailIcons,
        thumbnail_of: ThumbnailOf,
        placeholders: dict[Picture, QIcon] | None = None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.icons = icons
        self.thumbnail_of = thumbnail_of
        self.placeholders = placeholders or {}
        self._rows: dict[str, QPersistentModelIndex] = {}  # key -> the row waiting for it
        icons.ready.connect(self._ready)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DecorationRole and index.column() == 0:
            picture = Picture.NONE
            ref = self.thumbnail_of(index)
            if ref is not None:
                pixmap = self.icons.remote(*ref)
                if pixmap is not None:
                    return QIcon(squared(pixmap, CELL))
                key = remote_key(*ref)
                if not self.icons.known(key):
                    self._rows[key] = QPersistentModelIndex(index)
                    picture = Picture.LOADING
            if picture in self.placeholders:
                return self.placeholders[picture]
        return super().data(index, role)

    def picture(self, row: int) -> Picture:
        """What the row's tile shows now (tests, and the status line)."""
        ref = self.thumbnail_of(self.index(row, 0))
        if ref is None:
            return Picture.NONE
        key = remote_key(*ref)
        if self.icons.pixmap(key) is not None:
            return Picture.THUMBNAIL
        return Picture.NONE if self.icons.known(key) else Picture.LOADING

    def has_thumbnail(self, row: int) -> bool:
        return self.picture(row) is Picture.THUMBNAIL

    def _ready(self, key: str) -> None:
        waiting = self._rows.pop(key, None)
        if waiting is not None and waiting.isValid():
            index = self.index(waiting.row(), 0)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class ThumbnailGrid(QListView):
    """Icon mode over a ThumbnailProxy; `lines`: lines of text under each picture."""

    def __init__(self, proxy: ThumbnailProxy, lines: int = 1, parent=None) -> None:
        super().__init__(parent)
        self.proxy = proxy
        proxy.setParent(self)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(CELL, CELL))
        # Lines of text under each picture, elided in the middle (the ending tells the format):
        # wrapped names were drawn over the picture above them.
        self.setGridSize(QSize(CELL + 24, CELL + lines * self.fontMetrics().height() + 16))
        # Not uniform item sizes: the first item's size was measured with its plain file icon,
        # before its picture arrived, and every name was then drawn under the pictures' cells.
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def set_source(self, model) -> None:
        self.proxy.setSourceModel(model)
        self.setModel(self.proxy)
