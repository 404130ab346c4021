"""The Find panel's results as a thumbnail grid: one tile per hit, its NXem's thumbnail (fetched
on the thumbnail pool by the shared ThumbnailIcons), its file name and key values under it.

A view over the panel's SearchModel through thumbnail_grid.ThumbnailProxy (the bucket browser's
grid is the same code), so paging, selection and double-click work as in the table. A hit
without a thumbnail (converted before thumbnails, or its picture failed) shows a placeholder
tile, as does one whose picture is on its way.

The search API names a hit's derived file but not its thumbnail's SHA-256, so the picture is
cached under the NXem's SHA-256: new bytes (a new conversion) still mean a new picture.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QAbstractItemView

from lamefair_desktop.catalog.search import tile_of
from lamefair_desktop.ui.models.search_model import HIT_ROLE
from lamefair_desktop.ui.panels.thumbnail_grid import CELL, Picture, ThumbnailGrid, ThumbnailProxy
from lamefair_desktop.ui.thumbnail_icons import ThumbnailIcons

LINES = 2  # the file name, then voltage and pixel size
PLACEHOLDER_TEXT = {Picture.NONE: "no thumbnail", Picture.LOADING: "loading…"}


def hit_thumbnail(index: QModelIndex) -> tuple[str, str] | None:
    hit = index.data(HIT_ROLE)
    if not hit or not hit.get("derived"):
        return None
    return str(hit["derived"]), str(hit.get("mirror_sha256") or "")


def placeholder(text: str) -> QIcon:
    """A grey tile the size of a thumbnail, saying why there is no picture."""
    pixmap = QPixmap(CELL, CELL)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("#b0b0b0"), 1, Qt.PenStyle.DashLine))
    painter.setBrush(QColor("#ececec"))
    frame = QRect(8, 8, CELL - 16, CELL - 16)
    painter.drawRoundedRect(frame, 6, 6)
    painter.setPen(QColor("#707070"))
    painter.drawText(frame, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return QIcon(pixmap)


class SearchTiles(ThumbnailProxy):
    """The search results with thumbnails as icons and a tile's caption as the first column."""

    def __init__(self, icons: ThumbnailIcons, parent=None) -> None:
        super().__init__(
            icons,
            hit_thumbnail,
            {picture: placeholder(text) for picture, text in PLACEHOLDER_TEXT.items()},
            parent,
        )

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and index.column() == 0:
            hit = index.data(HIT_ROLE)
            return tile_of(hit) if hit else None
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 0:
            return Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
        return super().data(index, role)


class FindGrid(ThumbnailGrid):
    def __init__(self, icons: ThumbnailIcons, parent=None) -> None:
        super().__init__(SearchTiles(icons), LINES, parent)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
