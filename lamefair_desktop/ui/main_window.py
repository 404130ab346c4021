"""The main window: catalog tree on the left, work panels on the right, status bar below."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QTreeView

from lamefair_desktop import __version__, local_server
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import general_pool


class MainWindow(QMainWindow):
    server_ready = Signal(object)  # LocalServer

    def __init__(self, *, start_local_server: bool = True) -> None:
        super().__init__()
        self.setWindowTitle(f"lamefair {__version__}")
        self.resize(1280, 800)
        self.local_server: local_server.LocalServer | None = None
        self.catalog_view = QTreeView()
        self.catalog_view.setHeaderHidden(True)
        placeholder = QLabel("Select an experiment, then drop files here.")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        splitter = QSplitter()
        splitter.addWidget(self.catalog_view)
        splitter.addWidget(placeholder)
        splitter.setSizes([360, 920])
        self.setCentralWidget(splitter)
        self.server_label = QLabel()
        self.statusBar().addPermanentWidget(self.server_label)
        if start_local_server:
            self.connect_local_server()

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

    def _on_server_failed(self, message: str, details: str) -> None:
        self.server_label.setText("Local mode: catalog unavailable")
        self.statusBar().showMessage(f"Could not start the local catalog: {message}")
