"""Help menu: the list of keyboard shortcuts (read from the window's own actions, so it never
drifts from them) and where the documentation is."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

# Keys handled by widgets rather than actions, listed too.
WIDGET_KEYS = (
    ("Double-click a bucket folder", "Open it"),
    ("Double-click an NXem verdict", "The validator's report"),
)


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """(what it does, its keys) for every action that has a shortcut."""
    rows = []
    for action in actions:
        keys = ", ".join(
            k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()
        )
        if keys:
            rows.append((action.text().replace("&", "").rstrip("…"), keys))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = [(name, keys) for name, keys in shortcut_rows(actions)] + [
            (keys, what) for keys, what in WIDGET_KEYS
        ]
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(("Action", "Keys"))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (name, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(460, 420)


def documentation_url() -> QUrl:
    """The README beside the code when run from a checkout, else the project's page as the
    installed package states it."""
    readme = Path(__file__).resolve().parents[3] / "README.md"
    if readme.is_file():
        return QUrl.fromLocalFile(str(readme))
    try:
        for entry in metadata.metadata("lamefair").get_all("Project-URL") or []:
            _label, _, url = entry.partition(", ")
            if url:
                return QUrl(url)
    except metadata.PackageNotFoundError:
        pass
    return QUrl()
