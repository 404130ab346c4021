"""Export for publication…: a measurement, an experiment or a proposal as an RO-Crate (`.eln`).

The export itself is the CLI's (export/job.py), run as a Job on the general pool: the bytes
stream from storage into the archive on that thread, never on the UI thread. Progress arrives
throttled (workers/job.py); Cancel sets the job's cancel event, checked between chunks, and the
partial archive is removed. A failure stays in the dialog, in words, with the fields kept.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from lamefair_desktop.export.job import ExportProgress, ExportRequest, ExportResult, export_crate
from lamefair_desktop.ui.dialogs.form_rows import browse_row, form_layout
from lamefair_desktop.ui.format import human_size
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import general_pool

# Offered, not chosen for the user: the catalog records no licence, so the field starts empty.
LICENCES = ("CC-BY-4.0", "CC0-1.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0")
STEPS = 1000  # the progress bar's range: bytes do not fit a QProgressBar's int


def default_name(label: str) -> str:
    return (re.sub(r"[^\w.-]+", "-", label).strip("-.") or "export") + ".eln"


class ExportDialog(QDialog):
    finished_export = Signal(object)  # ExportResult
    failed_export = Signal(str)

    def __init__(
        self, client, kind: str, entity_id: str, label: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.client, self.kind, self.entity_id = client, kind, entity_id
        self.job: Job | None = None
        self._replace = ""  # the path the save dialog asked about replacing
        self.setWindowTitle("Export for publication")
        heading = QLabel(
            f"<b>{kind.title()} · {label}</b><br>An RO-Crate in the ELN format (.eln): the raw "
            "files, their NXem conversions and README texts, with the hierarchy, people, "
            "instrument, dates, licence and each file's SHA-256."
        )
        heading.setWordWrap(True)
        self.path = QLineEdit(str(Path.home() / default_name(label)))
        path_row, self.browse = browse_row(self.path, self.choose_path)
        self.licence = QComboBox()
        self.licence.setEditable(True)
        self.licence.addItems(LICENCES)
        self.licence.setCurrentIndex(-1)
        self.licence.lineEdit().setPlaceholderText("SPDX id or URL, e.g. CC-BY-4.0")
        self.licence.setToolTip("Under which licence the data is published (required)")
        self.links_only = QCheckBox("Raw files as links to the catalog, not their bytes")
        self.links_only.setToolTip(
            "For data too large to send: each raw file is listed with its size and SHA-256 and "
            "the catalog's address for it; NXem files, thumbnails and READMEs are included."
        )
        self.bar = QProgressBar()
        self.bar.setRange(0, STEPS)
        self.bar.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        form = form_layout()
        form.addRow("Save as", path_row)
        form.addRow("Licence", self.licence)
        form.addRow("", self.links_only)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton(
            "Export", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_or_close)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(620, 0)

    def choose_path(self) -> str:
        """The save dialog's path, with .eln added; remembered as one it asked to replace."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Export for publication", self.path.text(), "ELN archive (*.eln)"
        )
        if path:
            path = path if path.lower().endswith(".eln") else path + ".eln"
            self._replace = path
        return path

    def _say(self, text: str, problem: bool = False) -> None:
        self.status.setStyleSheet("color: #b00020;" if problem else "")
        self.status.setText(text)

    def start(self) -> None:
        licence = self.licence.currentText().strip()
        if not licence:
            self._say("Choose the licence the data is published under.", problem=True)
            self.licence.setFocus()
            return
        path = self.path.text().strip()
        request = ExportRequest(
            self.kind,
            self.entity_id,
            Path(path),
            licence,
            self.links_only.isChecked(),
            # The save dialog (Browse…) asked before replacing a file; a typed name did not.
            overwrite=path == self._replace,
        )
        client = self.client
        self.job = Job(lambda report, cancel: export_crate(client, request, report, cancel))
        self.job.signals.progress.connect(self._progress)
        self.job.signals.finished.connect(self._finished)
        self.job.signals.failed.connect(self._failed)
        self.job.signals.cancelled.connect(self._cancelled)
        self._running(True)
        self._say("Asking the catalog what to export…")
        self.job.start_on(general_pool())

    def _running(self, running: bool) -> None:
        self.export_button.setEnabled(not running)
        for widget in (self.path, self.browse, self.licence, self.links_only):
            widget.setEnabled(not running)
        self.bar.setVisible(running or self.bar.value() > 0)

    def _progress(self, progress: ExportProgress) -> None:
        total = max(progress.bytes_total, 1)
        self.bar.setValue(int(STEPS * progress.bytes_done / total))
        self._say(
            f"{progress.files_done} of {progress.files_total} file(s), "
            f"{human_size(progress.bytes_done)} of {human_size(progress.bytes_total)}: "
            f"{progress.path}"
        )

    def _finished(self, result: ExportResult) -> None:
        self.job = None
        self._running(False)
        self.bar.setValue(STEPS)
        links = f", {result.linked} raw file(s) as links" if result.linked else ""
        self._say(
            f"Wrote {result.output}: {result.files} file(s), {human_size(result.bytes)}{links}."
        )
        self.export_button.hide()
        self.cancel_button.setText("Close")
        self.finished_export.emit(result)

    def _failed(self, message: str, _details: str) -> None:
        self.job = None
        self._running(False)
        self.bar.hide()
        self.bar.setValue(0)
        self._say(f"Not exported: {message}", problem=True)
        self.failed_export.emit(message)

    def _cancelled(self) -> None:
        self.job = None
        self._running(False)
        self.bar.hide()
        self._say("Cancelled; nothing was kept.")

    def cancel_or_close(self) -> None:
        if self.job is not None:
            self._say("Cancelling…")
            self.job.cancel()
        else:
            self.reject()

    def reject(self) -> None:
        if self.job is not None:  # closing the window stops the export, never orphans it
            self.job.cancel()
        super().reject()
