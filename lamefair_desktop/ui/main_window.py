"""The main window: catalog tree on the left, work panels on the right, status bar below."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QTabWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import sessionmaker

from lamefair_desktop import __version__, local_server
from lamefair_desktop.catalog_client import CatalogClient, CatalogError
from lamefair_desktop.local_db import open_local_db
from lamefair_desktop.sync import CatalogCache, Sync
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader
from lamefair_desktop.ui.models.catalog_filter_model import CatalogFilterModel
from lamefair_desktop.ui.models.catalog_tree_model import CatalogTreeModel
from lamefair_desktop.ui.preview_panel import PreviewPanel
from lamefair_desktop.ui.transfers_panel import TransfersPanel
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import general_pool
from lamefair_desktop.workers.transfer_worker import TransferWorker


@dataclass(frozen=True)
class SyncResult:
    cache: CatalogCache
    changes: int
    problem: str
    sessions: sessionmaker  # the local database, opened on the worker


OPEN_FILTER = "Microscope images (*.tif *.tiff *.nxs *.h5 *.hdf5 *.nx5);;All files (*)"


class MainWindow(QMainWindow):
    server_ready = Signal(object)  # LocalServer
    catalog_synced = Signal(int)  # changes received

    def __init__(self, *, start_local_server: bool = True) -> None:
        super().__init__()
        self.setWindowTitle(f"lamefair {__version__}")
        self.resize(1280, 800)
        self.local_server: local_server.LocalServer | None = None
        self.tree_model = CatalogTreeModel()
        self.tree_filter = CatalogFilterModel()
        self.tree_filter.setSourceModel(self.tree_model)
        self.catalog_view = QTreeView()
        self.catalog_view.setHeaderHidden(True)
        self.catalog_view.setUniformRowHeights(True)  # instant with thousands of experiments
        self.catalog_view.setModel(self.tree_filter)
        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText("Filter: name, identifier, atom type, date")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.textChanged.connect(self.tree_filter.set_text)
        catalog_pane = QWidget()
        catalog_layout = QVBoxLayout(catalog_pane)
        catalog_layout.setContentsMargins(0, 0, 0, 0)
        catalog_layout.addWidget(self.filter_box)
        catalog_layout.addWidget(self.catalog_view, 1)
        self.preview = PreviewPanel()
        self.transfers = TransfersPanel()
        self.transfer_worker: TransferWorker | None = None
        self.tabs = QTabWidget()
        self.tabs.addTab(self.preview, "Preview")
        self.tabs.addTab(self.transfers, "Transfers")
        splitter = QSplitter()
        splitter.addWidget(catalog_pane)
        splitter.addWidget(self.tabs)
        splitter.setSizes([320, 960])
        self.setCentralWidget(splitter)
        self.server_label = QLabel()
        self.statusBar().addPermanentWidget(self.server_label)
        self._build_menus()
        if start_local_server:
            self.connect_local_server()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open image…", self)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self.choose_file)
        file_menu.addAction(open_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", OPEN_FILTER)
        if path:
            self.tabs.setCurrentWidget(self.preview)
            self.preview.open_file(path)

    def connect_local_server(self) -> None:
        """Start (or find) the embedded catalog off the UI thread."""
        self.server_label.setText("Local mode: starting the local catalog…")
        job = Job(lambda report, cancel: local_server.start())
        job.signals.finished.connect(self._on_server_ready)
        job.signals.failed.connect(self._on_server_failed)
        self._server_job = job  # keep it alive until its signals are delivered
        job.start_on(general_pool())

    def _on_server_ready(self, server: local_server.LocalServer) -> None:
        self.local_server = server
        self.server_label.setText(f"Local mode: catalog at {server.url}")
        self.server_ready.emit(server)
        self.sync_catalog(CatalogClient(server.url, server.token))

    def sync_catalog(self, client: CatalogClient) -> None:
        """Pull the change feed into the local cache on a worker, then show the tree.

        Offline, the tree shows the cache as it was, and the status bar says so.
        """

        def work(report, cancel) -> SyncResult:
            sessions = open_local_db()
            sync = Sync(client, sessions)
            try:
                return SyncResult(sync.cache, sync.pull(), "", sessions)
            except CatalogError as exc:
                return SyncResult(sync.cache, 0, str(exc), sessions)
            finally:
                client.close()

        job = Job(work)
        job.signals.finished.connect(self._on_synced)
        self._sync_job = job
        job.start_on(general_pool())

    def _on_synced(self, result: SyncResult) -> None:
        if result.problem:
            self.statusBar().showMessage(
                f"Working offline, showing the cached catalog: {result.problem}"
            )
        self.tree_model.reload(result.cache)
        self.catalog_synced.emit(result.changes)
        if self.transfer_worker is None and self.local_server is not None:
            self._start_transfers(result.sessions)

    def _start_transfers(self, sessions: sessionmaker) -> None:
        """Resume whatever the durable queue holds (it survives restarts) and show it."""
        server = self.local_server
        queue = UploadQueue(sessions)
        uploader = Uploader(CatalogClient(server.url, server.token), queue)
        self.transfer_worker = TransferWorker(uploader, self)
        self.transfers.attach(self.transfer_worker, queue)
        self.transfer_worker.start()

    def _on_server_failed(self, message: str, details: str) -> None:
        self.server_label.setText("Local mode: catalog unavailable")
        self.statusBar().showMessage(f"Could not start the local catalog: {message}")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        self.preview.close_file()
        if self.transfer_worker is not None:
            self.transfer_worker.stop()  # parts in flight finish; the queue keeps the rest
        super().closeEvent(event)
