"""Uncaught exceptions: written to the log folder and shown in a dialog with a copyable report.

Installed for the main thread (sys.excepthook) and for worker threads (threading.excepthook);
reports from other threads are handed to the UI thread through a queued signal.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout

from lamefair_desktop import __version__
from lamefair_desktop.home.log_files import log_to_file

log = logging.getLogger("lamefair")


def setup_logging() -> Path:
    """Log to `<log dir>/lamefair.log` (what support asks for), rotated (see log_files)."""
    return log_to_file("lamefair.log")


def report_text(exc_type, exc, tb) -> str:
    return (
        f"lamefair {__version__}, Python {platform.python_version()}, {platform.platform()}\n"
        f"{datetime.now(UTC).isoformat(timespec='seconds')}\n\n"
        + "".join(traceback.format_exception(exc_type, exc, tb))
    )


class CrashDialog(QDialog):
    def __init__(self, report: str, log_path: Path, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("lamefair hit an unexpected error")
        self.report = report
        message = QLabel(
            "Something went wrong that lamefair did not expect. Your queued uploads are kept.\n"
            f"The details below are also in {log_path}; copy them into a support request."
        )
        message.setWordWrap(True)
        details = QPlainTextEdit(report)
        details.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy report", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.report))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(message)
        layout.addWidget(details, 1)
        layout.addWidget(buttons)
        self.resize(720, 420)


class CrashReporter(QObject):
    reported = Signal(str)

    def __init__(self, log_path: Path, show_dialog: bool = True) -> None:
        super().__init__()
        self.log_path = log_path
        self.show_dialog = show_dialog
        self.last_dialog: CrashDialog | None = None
        self.reported.connect(self._show)  # queued when emitted from another thread

    def install(self) -> None:
        sys.excepthook = self._hook
        threading.excepthook = lambda args: self._hook(
            args.exc_type, args.exc_value, args.exc_traceback
        )

    def _hook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        report = report_text(exc_type, exc, tb)
        log.error("uncaught exception\n%s", report)
        self.reported.emit(report)

    def _show(self, report: str) -> None:
        if not self.show_dialog:
            return
        self.last_dialog = CrashDialog(report, self.log_path)
        self.last_dialog.show()
