"""The bucket browser (PIs on a laptop): the buckets one may read, breadcrumbs through prefixes,
sortable paged listings as a table or a thumbnail grid, downloads through the transfer engine,
presigned links, revocable share links, aria2 exports, and a preview of any image (downloaded to
the cache first).

This module holds the widgets and the navigation; its parts: bucket_breadcrumbs.py (the crumbs),
bucket_grid.py (thumbnails), bucket_downloads.py (downloads, previews), bucket_links.py (links,
share links, aria2 exports, the context menu).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lamefair_desktop.home.settings import Settings
from lamefair_desktop.ui.look import ProblemLabel
from lamefair_desktop.ui.models.bucket_model import (
    ENTRY_ROLE,
    BucketModel,
    BucketSortModel,
    Entry,
    fixity_text,
)
from lamefair_desktop.ui.panels.bucket_breadcrumbs import Breadcrumbs
from lamefair_desktop.ui.panels.bucket_downloads import PREVIEWABLE, BucketDownloads
from lamefair_desktop.ui.panels.bucket_grid import BucketGrid
from lamefair_desktop.ui.panels.bucket_links import PROPOSAL, BucketLinks
from lamefair_desktop.ui.thumbnail_icons import ThumbnailIcons
from lamefair_desktop.workers.job import Job, JobGroup


class BucketBrowser(BucketDownloads, BucketLinks, QWidget):
    buckets_loaded = Signal(int)
    downloaded = Signal(object)  # Downloaded
    preview_requested = Signal(str)  # a local path
    text_shown = Signal(str)  # a text file's contents, shown in a dialog
    link_copied = Signal(str, int)  # the URL, its lifetime in seconds (0: the server did not say)
    problem = Signal(str)  # a message for the status bar

    def __init__(self, parent: QWidget | None = None, icons: ThumbnailIcons | None = None) -> None:
        super().__init__(parent)
        self.icons = icons or ThumbnailIcons(self)
        self.client = None
        self.settings: Settings | None = None  # the workspace's, loaded once
        self._wanted = ""  # a bucket to show once the list arrives
        self._reveal: tuple[str, str, str] | None = None  # bucket, folder, name to select
        self._jobs = JobGroup(self.problem.emit)
        self._download: Job | None = None
        self.ask_folder: Callable[[], str] = lambda: QFileDialog.getExistingDirectory(
            self, "Download into"
        )
        self.ask_aria2_file: Callable[[], str] = lambda: QFileDialog.getSaveFileName(
            self, "Export an aria2 input file", "lamefair.aria2", "aria2 input (*.aria2 *.txt)"
        )[0]
        self.bucket_box = QComboBox()
        self.bucket_box.setMinimumWidth(280)
        # Not as wide as its longest label: a long project name widened the main window past
        # the screen (the combo's size hint is its widest item's). The full name is the tooltip.
        self.bucket_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.bucket_box.setMinimumContentsLength(24)
        self.bucket_box.currentIndexChanged.connect(lambda _i: self.go(""))
        self.refresh_button = QToolButton()
        self.refresh_button.setText("Refresh")
        self.refresh_button.clicked.connect(self.reload_buckets)
        self.breadcrumbs = Breadcrumbs()
        self.breadcrumbs.chosen.connect(self.go)
        # The proposal's fixity (stored bytes re-read by the catalog): a line only when there is
        # something to say, red when an object failed its check.
        self.fixity_line = ProblemLabel(active=False)
        self.fixity_line.setWordWrap(True)
        self.fixity_line.hide()
        top = QHBoxLayout()
        top.addWidget(QLabel("Bucket"))
        top.addWidget(self.bucket_box, 1)
        top.addWidget(self.refresh_button)
        self.grid_button = QToolButton()
        self.grid_button.setText("Grid")
        self.grid_button.setCheckable(True)
        self.grid_button.setToolTip("Show thumbnails instead of the list (Ctrl+G toggles)")
        self.grid_button.setShortcut("Ctrl+G")
        self.grid_button.toggled.connect(self.show_grid)
        top.addWidget(self.grid_button)
        self.model = BucketModel(self)
        self.sorted = BucketSortModel(self)
        self.sorted.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.sorted)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)  # uniform rows: fast at 100k
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Size and Modified as wide as their longest text ("2026-12-07 12:34:56" was cut to
        # "2026-12-07 ..."), measured once: ResizeToContents would measure every row of 100k.
        metrics = self.table.fontMetrics()
        # Verified (fixity): a date, or "mismatch!".
        for column, widest in (
            (1, "1023.9 MiB"),
            (2, "2026-12-07 12:34:56"),
            (3, "2026-12-07 12:34"),
        ):
            self.table.setColumnWidth(column, metrics.horizontalAdvance(widest) + 24)
        self.table.doubleClicked.connect(self._activated)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.grid = BucketGrid(self.icons)
        self.grid.set_source(self.sorted)
        self.grid.doubleClicked.connect(self._activated)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.views = QStackedWidget()
        self.views.addWidget(self.table)
        self.views.addWidget(self.grid)
        self.model.load_failed.connect(self.problem.emit)
        self.model.page_loaded.connect(self._update_count)
        self.model.page_loaded.connect(self._select_revealed)
        self.count = QLabel()
        self.download_button = QPushButton("Download…")
        self.link_button = QPushButton("Copy link")
        self.link_button.setToolTip("A presigned URL: works until it expires, cannot be revoked")
        self.share_button = QPushButton("Share link…")
        self.share_button.setToolTip("A link you can revoke, with an expiry you choose")
        self.share_button.clicked.connect(lambda: self.share_selected())
        self.aria2_button = QPushButton("Export aria2…")
        self.preview_button = QPushButton("Preview")
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setEnabled(False)
        self.download_button.clicked.connect(self.download_selected)
        self.link_button.clicked.connect(self.copy_link)
        self.aria2_button.clicked.connect(self.export_aria2)
        self.preview_button.clicked.connect(self.preview_selected)
        self.cancel_button.clicked.connect(self._cancel_download)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.hide()
        buttons = QHBoxLayout()
        for button in (
            self.download_button,
            self.link_button,
            self.share_button,
            self.aria2_button,
            self.preview_button,
            self.cancel_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.breadcrumbs)
        layout.addWidget(self.fixity_line)
        layout.addWidget(self.views, 1)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

    # --- navigation ---------------------------------------------------------------------------

    def attach(self, client, settings: Settings) -> None:
        """The workspace's client and settings (loaded once: the preview cache's folder and
        size come from them, never from re-reading the file on a worker)."""
        self.client = client
        self.settings = settings
        self.icons.ensure(client, settings)
        self.reload_buckets()

    def _run(self, work, done, failed=None) -> Job:
        return self._jobs.run(work, done, failed)

    def reload_buckets(self) -> None:
        if self.client is None:
            return
        client = self.client
        self._run(client.buckets, self._show_buckets)

    def show_bucket(self, name: str) -> None:
        """Read the bucket list again (new proposals appear) and open `name` in it."""
        self._wanted = name
        self.reload_buckets()

    def reveal(self, bucket: str, key: str) -> None:
        """Open the folder holding `key` and select it (the tree's "Show in bucket")."""
        folder, _, name = key.rpartition("/")
        self._reveal = (bucket, f"{folder}/" if folder else "", name)
        if self.select_bucket(bucket):  # listed already (else once the list arrives)
            self.go(self._reveal[1])
        else:
            self.show_bucket(bucket)

    def _select_revealed(self, _rows: int) -> None:
        """Each page of the revealed folder selects the file again (a refresh re-lists it);
        a page of any other folder means the user went elsewhere."""
        if self._reveal is None:
            return
        bucket, prefix, name = self._reveal
        if (self.model.bucket, self.model.prefix) != (bucket, prefix):
            self._reveal = None
        elif self.select_name(name):
            self.table.scrollTo(self.table.currentIndex())

    def _show_buckets(self, buckets: list[dict]) -> None:
        current, self._wanted = self._wanted or self.bucket, ""
        reveal = self._reveal
        self.bucket_box.blockSignals(True)
        self.bucket_box.clear()
        for bucket in buckets:
            kind = "raw data" if bucket["kind"] == "raw" else "NXem mirror"
            label = f"{bucket['project']} / {bucket['number']} — {kind}"
            self.bucket_box.addItem(label, bucket["name"])
            self.bucket_box.setItemData(
                self.bucket_box.count() - 1, bucket["name"], Qt.ItemDataRole.ToolTipRole
            )
            self.bucket_box.setItemData(self.bucket_box.count() - 1, bucket["proposal"], PROPOSAL)
        self.bucket_box.blockSignals(False)
        if current and self.bucket_box.findData(current) >= 0:
            self.bucket_box.setCurrentIndex(self.bucket_box.findData(current))
        if reveal is not None and reveal[0] == current:
            self._reveal = reveal  # the box's own change went to "/" first
            self.go(reveal[1])
        else:
            self.go(self.model.prefix if current == self.model.bucket else "")
        self.buckets_loaded.emit(len(buckets))

    @property
    def bucket(self) -> str:
        return self.bucket_box.currentData() or ""

    def select_bucket(self, name: str) -> bool:
        index = self.bucket_box.findData(name)
        if index >= 0:
            self.bucket_box.setCurrentIndex(index)
        return index >= 0

    def go(self, prefix: str) -> None:
        """Show a prefix of the current bucket (and its breadcrumbs)."""
        if self.client is None or not self.bucket:
            return
        if self.bucket != self.model.bucket or not prefix:
            self._load_fixity()
        self.model.open(self.client, self.bucket, prefix)
        self.breadcrumbs.show_prefix(prefix)

    def _load_fixity(self) -> None:
        proposal = self.bucket_box.currentData(PROPOSAL)
        if not proposal:
            return
        client = self.client
        self._run(
            lambda: client.get(f"/api/proposals/{proposal}/fixity"),
            lambda summary, p=proposal: self.show_fixity(summary, p),
            # A catalog from before fixity has no such route: no line, the listing still works.
            lambda _message, _details: self.fixity_line.hide(),
        )

    def show_fixity(self, summary: dict, proposal: str | None = None) -> None:
        if proposal is not None and proposal != self.bucket_box.currentData(PROPOSAL):
            return  # another proposal's answer, arriving late
        text, problem = fixity_text(summary)
        self.fixity_line.setText(text)
        self.fixity_line.set_active(problem)
        self.fixity_line.setVisible(bool(text))

    def _update_count(self, rows: int) -> None:
        more = " (scroll for more)" if self.model.canFetchMore() else ""
        self.count.setText(f"{rows} item(s){more}")

    def _activated(self, index: QModelIndex) -> None:
        entry: Entry = index.data(ENTRY_ROLE)
        if entry is None:
            return
        if entry.is_folder:
            self.go(entry.key)
        elif entry.name.lower().endswith(PREVIEWABLE):
            self.preview_selected()

    def show_grid(self, on: bool = True) -> None:
        """Thumbnails (on) or the table; the selection and the listing stay what they were."""
        self.grid_button.setChecked(on)
        self.views.setCurrentWidget(self.grid if on else self.table)

    def selected(self) -> list[Entry]:
        if self.views.currentWidget() is self.grid:
            chosen = self.grid.selectionModel().selectedIndexes()
        else:
            chosen = self.table.selectionModel().selectedRows()
        rows = {index.row(): index for index in chosen}
        return [rows[row].data(ENTRY_ROLE) for row in sorted(rows)]

    def select_name(self, name: str) -> bool:
        for row in range(self.sorted.rowCount()):
            index = self.sorted.index(row, 0)
            if index.data(ENTRY_ROLE).name == name:
                self.table.selectRow(row)
                self.grid.setCurrentIndex(self.grid.proxy.index(row, 0))
                return True
        return False
