"""The catalog tree's hover on a file: its usual tooltip with the file's thumbnail under it.

An event filter on the tree's viewport answers the tooltip event itself: with the picture when it
is here; else the text at once, the thumbnail asked for on the thumbnail pool, and the tooltip
shown again with it if the pointer is still on that file when it arrives.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, QPersistentModelIndex, QPoint, Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QToolTip, QTreeView

from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE
from lamefair_desktop.ui.thumbnail_icons import ThumbnailIcons, file_key


class TreeThumbnailTips(QObject):
    def __init__(self, view: QTreeView, icons: ThumbnailIcons) -> None:
        super().__init__(view)
        self.view = view
        self.icons = icons
        self._hovered: tuple[str, QPersistentModelIndex] | None = None
        view.viewport().installEventFilter(self)
        icons.ready.connect(self._ready)

    def tooltip(self, index) -> str:
        """The tooltip for a row: the model's text, and for a file its thumbnail when it is here
        (else it is asked for)."""
        text = index.data(Qt.ItemDataRole.ToolTipRole) or ""
        node = index.data(NODE_ROLE)
        if node is None or node.kind != "file" or node.data.get("state") != "stored":
            return text
        key = file_key(node.data)
        data = dict(node.data)
        self.icons.request(key, lambda cache: cache.of_file(data) if cache else None)
        self._hovered = (key, QPersistentModelIndex(index))
        picture = self.icons.html(key)
        return f"<p>{html.escape(text)}</p>{picture}" if picture else text

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() != QEvent.Type.ToolTip:
            return False
        index = self.view.indexAt(event.pos())
        if not index.isValid():
            self._hovered = None
            return False
        text = self.tooltip(index)
        if text:
            QToolTip.showText(event.globalPos(), text, self.view.viewport())
        else:
            QToolTip.hideText()
        return True

    def _ready(self, key: str) -> None:
        if self._hovered is None or self._hovered[0] != key or not self.icons.png(key):
            return
        index = self._hovered[1]
        if not index.isValid():
            return
        point: QPoint = self.view.viewport().mapFromGlobal(QCursor.pos())
        if self.view.indexAt(point) != index:
            return  # the pointer moved on
        text = self.tooltip(self.view.model().index(index.row(), 0, index.parent()))
        QToolTip.showText(QCursor.pos(), text, self.view.viewport())
