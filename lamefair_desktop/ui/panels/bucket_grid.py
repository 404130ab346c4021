"""The bucket browser's grid view: the same listing as the table, as thumbnails.

A QListView in icon mode over the browser's sorted model, through a proxy whose icons are the
thumbnails the catalog keeps beside each NXem (for a raw file, its NXem's), fetched on the
thumbnail pool as the view asks for them, folders and files without one keeping their usual icon.
Only the first column is shown (a list view shows one), so the table's sorting and paging carry
over: scrolling to the end of the grid asks for the next page as the table does.
"""

from __future__ import annotations

from PySide6.QtCore import QIdentityProxyModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QListView

from lamefair_desktop.ui.models.bucket_model import ENTRY_ROLE, Entry
from lamefair_desktop.ui.thumbnail_icons import ThumbnailIcons, squared

CELL = 160  # pixels of a thumbnail in the grid (they are rendered at 256)


def entry_key(entry: Entry) -> str:
    return f"derived:{entry.thumbnail}:{entry.thumbnail_sha256}"


class ThumbnailProxy(QIdentityProxyModel):
    """The sorted listing with thumbnails as its icons."""

    def __init__(self, icons: ThumbnailIcons, parent=None) -> None:
        super().__init__(parent)
        self.icons = icons
        self._rows: dict[str, QPersistentModelIndex] = {}  # key -> the row waiting for it
        icons.ready.connect(self._ready)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DecorationRole and index.column() == 0:
            entry: Entry | None = index.data(ENTRY_ROLE)
            if entry is not None and entry.thumbnail:
                key = entry_key(entry)
                pixmap = self.icons.remote(entry.thumbnail, entry.thumbnail_sha256)
                if pixmap is not None:
                    return QIcon(squared(pixmap, CELL))
                if not self.icons.known(key):
                    self._rows[key] = QPersistentModelIndex(index)
        return super().data(index, role)

    def has_thumbnail(self, row: int) -> bool:
        """Whether the row shows its thumbnail now (tests, and the status line)."""
        entry = self.index(row, 0).data(ENTRY_ROLE)
        return bool(entry and entry.thumbnail and self.icons.pixmap(entry_key(entry)))

    def _ready(self, key: str) -> None:
        waiting = self._rows.pop(key, None)
        if waiting is not None and waiting.isValid():
            index = self.index(waiting.row(), 0)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class BucketGrid(QListView):
    def __init__(self, icons: ThumbnailIcons, parent=None) -> None:
        super().__init__(parent)
        self.proxy = ThumbnailProxy(icons, self)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(CELL, CELL))
        # One line of name under each picture, elided in the middle (the ending tells the
        # format): wrapped names were drawn over the picture above them.
        self.setGridSize(QSize(CELL + 24, CELL + self.fontMetrics().height() + 16))
        # Not uniform item sizes: the first item's size was measured with its plain file icon,
        # before its picture arrived, and every name was then drawn under the pictures' cells.
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def set_source(self, model) -> None:
        self.proxy.setSourceModel(model)
        self.setModel(self.proxy)
