"""The main window: catalog tree on the left, work panels on the right, status bar below."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QTreeView

from lamefair_desktop import __version__


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(f"lamefair {__version__}")
        self.resize(1280, 800)
        self.catalog_view = QTreeView()
        self.catalog_view.setHeaderHidden(True)
        placeholder = QLabel("Select an experiment, then drop files here.")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        splitter = QSplitter()
        splitter.addWidget(self.catalog_view)
        splitter.addWidget(placeholder)
        splitter.setSizes([360, 920])
        self.setCentralWidget(splitter)
        self.statusBar().showMessage("Local mode")
