"""The details pane under the catalog tree: the selected entry's fields, counts, who created it and
when (catalog/details.py decides what), and for a measurement its README.txt.

The README is fetched the way the bucket browser previews a text file (download into the preview
cache, SHA-less, then read its start) on the general pool, never on the UI thread. Selections
move faster than downloads: an answer for an entry no longer shown is dropped.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from lamefair_desktop.catalog.details import Details, StoredText, details_of, files_of
from lamefair_desktop.catalog.tree import TreeNode
from lamefair_desktop.home.preview_cache import preview_dir
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.transfer.download import RemoteObject
from lamefair_desktop.transfer.download_job import PreviewCache, Wanted, download
from lamefair_desktop.ui.format import human_size
from lamefair_desktop.ui.panels.bucket_downloads import text_start
from lamefair_desktop.ui.panels.thumbnail_strip import ThumbnailStrip
from lamefair_desktop.ui.thumbnail_icons import ThumbnailIcons
from lamefair_desktop.workers.job import JobGroup

NOTHING = "Select an entry in the catalog to see its details."


def fetch_text(client, settings: Settings, where: StoredText) -> str:
    """Runs on a worker: the object into the preview cache, then the start of its text."""
    folder = preview_dir(settings) / where.bucket / where.key.rsplit("/", 1)[0]
    cache = PreviewCache(preview_dir(settings), settings.cache_size_mb * 1024**2)
    name = where.key.rsplit("/", 1)[-1]
    result = download(
        client,
        [Wanted(RemoteObject(where.bucket, where.key, name), False)],
        folder,
        report=lambda _event: None,
        cancel=threading.Event(),
        preview_cache=cache,
    )
    return text_start(result.paths[0])


class DetailsPane(QWidget):
    readme_shown = Signal(str)  # the README's text (or why it is missing), once it arrived

    def __init__(self, parent: QWidget | None = None, icons: ThumbnailIcons | None = None) -> None:
        super().__init__(parent)
        self.icons = icons or ThumbnailIcons(self)
        self.strip = ThumbnailStrip(self.icons)
        self.client = None
        self.settings: Settings | None = None
        self.details: Details | None = None
        self._node: TreeNode | None = None
        self._readme_for: tuple[TreeNode | None, StoredText | None] | None = None
        self._jobs = JobGroup(lambda _message: None)  # each job has its own failure handler
        self.title = QLabel(NOTHING)
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold;")
        self.summary = QLabel()  # counts and who created it
        self.summary.setWordWrap(True)
        self.form_holder = QWidget()
        self.form = QFormLayout(self.form_holder)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.readme = QPlainTextEdit()
        self.readme.setReadOnly(True)
        self.readme.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.readme.setMinimumHeight(90)
        self.readme_label = QLabel("README.txt")
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self.title)
        column.addWidget(self.summary)
        column.addWidget(self.form_holder)
        column.addWidget(self.strip)
        column.addWidget(self.readme_label)
        column.addWidget(self.readme, 1)
        column.addStretch(0)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.show_node(None)

    def attach(self, client, settings: Settings) -> None:
        self.client, self.settings = client, settings
        self.icons.ensure(client, settings)

    def show_node(self, node: TreeNode | None) -> None:
        """Show an entry (None: nothing selected); a measurement's README follows on a worker."""
        if node is not None and node is self._node and details_of(node) == self.details:
            return  # the same entry, unchanged (a sync touched its row)
        self._node = node
        while self.form.rowCount():
            self.form.removeRow(0)
        if node is None:
            self.details = None
            self.title.setText(NOTHING)
            self.summary.hide()
            self.strip.show_files([])
            self._show_readme(None)
            return
        details = self.details = details_of(node)
        self.title.setText(details.title + (" — not sent yet" if details.pending else ""))
        summary = [details.counts] if details.counts else []
        if details.size is not None:
            summary.append(human_size(details.size))
        if details.created:
            summary.append(details.created)
        self.summary.setText("; ".join(summary))
        self.summary.setVisible(bool(summary))
        for label, value in details.fields:
            text = QLabel(value)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.form.addRow(f"{label}:", text)
        self.strip.show_files(files_of(node) if node.kind == "measurement" else [])
        if (node, details.readme) != self._readme_for:  # not again for the same entry
            self._show_readme(details.readme)

    def value(self, label: str) -> str:
        """The value shown for a field (tests, and what a screen reader reads)."""
        for row in range(self.form.rowCount()):
            name = self.form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if name is not None and name.widget().text() == f"{label}:":
                return self.form.itemAt(row, QFormLayout.ItemRole.FieldRole).widget().text()
        return ""

    def _show_readme(self, where: StoredText | None) -> None:
        self._readme_for = (self._node, where)
        shown = where is not None
        self.readme_label.setVisible(shown)
        self.readme.setVisible(shown)
        if where is None:
            return
        if self.client is None or self.settings is None:
            self.readme.setPlainText("Not connected to the catalog: the README cannot be read.")
            return
        self.readme.setPlainText("Reading README.txt…")
        client, settings, node = self.client, self.settings, self._node
        self._jobs.run(
            lambda: fetch_text(client, settings, where),
            lambda text, n=node: self._readme_arrived(n, text),
            lambda message, _d, n=node: self._readme_arrived(
                n, f"README.txt ({where.bucket}/{where.key}) could not be read.\n\n{message}"
            ),
        )

    def _readme_arrived(self, node: TreeNode | None, text: str) -> None:
        if node is not self._node:
            return  # another entry is shown now
        self.readme.setPlainText(text)
        self.readme_shown.emit(text)
