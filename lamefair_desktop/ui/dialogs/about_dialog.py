"""About lamefair: version, build, libraries and the folders it uses; "Copy diagnostics" puts the
same text on the clipboard for a support request."""

from __future__ import annotations

from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lamefair_desktop import __version__
from lamefair_desktop.home import diagnostics


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About lamefair")
        title = QLabel(
            f"<h3>lamefair {__version__}</h3>"
            "<p>Electron-microscopy data made FAIR at acquisition: uploads to S3 with SHA-256 "
            "integrity and NeXus/NXem conversion.</p>"
        )
        title.setWordWrap(True)
        self.text = QPlainTextEdit(diagnostics.report({"Qt": qVersion()}))
        self.text.setReadOnly(True)
        self.copy_button = QPushButton("Copy diagnostics")
        self.copy_button.clicked.connect(self.copy)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(620, 480)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())
        self.copy_button.setText("Copied")
