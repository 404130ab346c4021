"""A measurement's thumbnails in a row under its details: its stored images, as the catalog keeps
their pictures beside their NXem files, fetched on the thumbnail pool (ui/thumbnail_icons.py).

Files without a thumbnail (not images, or not converted yet) are left out once that is known;
the strip hides itself when none of the files has one.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QWidget

from lamefair_desktop.transfer.derived import wants_conversion
from lamefair_desktop.ui.thumbnail_icons import ThumbnailIcons, file_key, scaled

SIDE = 96
SHOWN = 24  # a measurement of thousands shows its first ones; the bucket grid shows them all


class ThumbnailStrip(QScrollArea):
    def __init__(self, icons: ThumbnailIcons, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icons = icons
        self._labels: dict[str, QLabel] = {}
        holder = QWidget()
        self.row = QHBoxLayout(holder)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.addStretch(1)
        self.setWidget(holder)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedHeight(SIDE + 22)
        icons.ready.connect(self._ready)
        self.hide()

    def show_files(self, files: list[dict]) -> None:
        """The stored images among `files` (a measurement's records), their pictures following."""
        for label in self._labels.values():
            label.deleteLater()
        self._labels.clear()
        wanted = [
            f for f in files if f.get("state") == "stored" and wants_conversion(f.get("path", ""))
        ][:SHOWN]
        for file in wanted:
            key = file_key(file)
            label = QLabel("…")
            label.setFixedSize(SIDE, SIDE)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setToolTip(file.get("path", ""))
            label.setStyleSheet("background: palette(base);")
            self._labels[key] = label
            self.row.insertWidget(self.row.count() - 1, label)
            data = dict(file)
            self.icons.request(key, lambda cache, d=data: cache.of_file(d) if cache else None)
            self._ready(key)
        self.setVisible(bool(self._labels))

    def shown(self) -> int:
        """How many thumbnails the strip shows now (tests)."""
        return sum(1 for label in self._labels.values() if not label.pixmap().isNull())

    def _ready(self, key: str) -> None:
        label = self._labels.get(key)
        if label is None or not self.icons.known(key):
            return
        pixmap = self.icons.pixmap(key)
        if pixmap is None:  # none for this file: it leaves the strip
            self._labels.pop(key).deleteLater()
            self.setVisible(bool(self._labels))
            return
        label.setPixmap(scaled(pixmap, SIDE))
