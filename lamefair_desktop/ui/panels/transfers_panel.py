"""The transfers panel: every queued file with progress, rate, ETA and state; pause, resume,
cancel and retry; a total bar. It shows the durable queue, so it survives a restart."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from lamefair_desktop.transfer.derived import DerivedJob, DerivedQueue
from lamefair_desktop.transfer.progress import FileProgress
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.states import FINAL_STATES, ConversionState, UploadState
from lamefair_desktop.ui.drops import dropped_paths
from lamefair_desktop.ui.format import human_size
from lamefair_desktop.ui.models.transfers_model import (
    COLUMNS,
    DERIVED_ROLE,
    FILE_ID_ROLE,
    TransfersModel,
    _eta,
)
from lamefair_desktop.ui.question import question
from lamefair_desktop.workers.engine_worker import EngineWorker
from lamefair_desktop.workers.job import JobGroup

FLUSH_MS = 150


class TransfersPanel(QWidget):
    loaded = Signal(int)  # rows read from the durable queue
    report_shown = Signal(object)  # the QMessageBox with a validator's report (for tests)
    files_dropped = Signal(list)  # [Path]: uploaded to the experiment selected in the catalog
    changed = Signal()  # rows changed (a batch of progress events was applied)
    problem = Signal(str)  # the queue could not be read: for the status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs = JobGroup(
            lambda message: self.problem.emit(
                f"The transfer queue could not be read: {message}. Nothing queued is lost; "
                "restart lamefair, and send its log folder to support if it happens again."
            )
        )
        self.model = TransfersModel()
        self.engines: EngineWorker | None = None
        self.derived: DerivedQueue | None = None
        self.setAcceptDrops(True)
        # Progress events are applied in batches, a few times a second.
        self._pending: dict[str, FileProgress] = {}
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Wide enough for the longest verdict ("valid NXem (FAIRmat, checked by the catalog)");
        # a fixed width, not ResizeToContents, which measures every row of a 1,000-file burst.
        self.table.setColumnWidth(self.model.columnCount() - 1, 300)
        self.table.verticalHeader().hide()
        self.table.doubleClicked.connect(self._double_clicked)
        self.total = QProgressBar()
        self.total.setFormat("Nothing queued")
        buttons = QHBoxLayout()
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume / Retry")
        self.cancel_button = QPushButton("Cancel")
        for button in (self.pause_button, self.resume_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.pause_button.clicked.connect(lambda: self._each_selected("pause"))
        self.resume_button.clicked.connect(lambda: self._each_selected("resume"))
        self.cancel_button.clicked.connect(self.cancel_selected)
        layout = QVBoxLayout(self)
        layout.addWidget(self.total)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._update_total()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)

    def attach(
        self, engines: EngineWorker, queue: UploadQueue, derived: DerivedQueue | None = None
    ) -> None:
        """Show the queue as it is now (read on a worker), then follow the engines' events."""
        self.engines, self.derived = engines, derived
        engines.file_progress.connect(self._on_progress)
        engines.uploads_idle.connect(lambda _counts: self._update_total())
        engines.job_changed.connect(self.model.update_derived)
        self.reload(queue)

    def reload(self, queue: UploadQueue) -> None:
        """Read the queue again (after new files were registered), with the bytes each
        unfinished multipart upload has already sent (a restart showed them as 0 %)."""
        derived = self.derived
        self._run(lambda: (*_read_queue(queue), derived.items() if derived else []), self._loaded)

    def _run(self, work, done=None) -> None:
        """Queue reads go to a worker."""
        self._jobs.run(work, done)

    def _loaded(self, result) -> None:
        items, sent, derived = result
        self._flush()
        self.model.load(items, derived, sent)
        self._update_total()
        self.loaded.emit(len(items))
        self.changed.emit()

    def _double_clicked(self, index) -> None:
        job = index.data(DERIVED_ROLE)
        if job is not None and COLUMNS[index.column()] == "NXem":
            self.show_report(job)

    def show_report(self, job: DerivedJob) -> QMessageBox:
        """The validator's verdict and full report, and what the entry lacks."""
        box = QMessageBox(self)
        box.setWindowTitle(f"NXem of {job.rel_path}")
        if job.state == ConversionState.FAILED:
            box.setIcon(QMessageBox.Icon.Warning)
            box.setText(f"{job.rel_path} was not converted.\n\n{job.error}")
        else:
            box.setIcon(
                QMessageBox.Icon.Information if job.judged_valid else QMessageBox.Icon.Warning
            )
            box.setText(f"{job.rel_path}: {job.verdict}.")
            if job.lacking:
                box.setInformativeText("The entry lacks:\n" + job.lacking)
        box.setDetailedText(job.full_report or job.error)
        box.setModal(False)
        box.show()
        self.report_shown.emit(box)
        return box

    def _on_progress(self, event: FileProgress) -> None:
        # The newest event of a file says it all, but for its rate: a file sent in one PUT
        # reports it once, just before "stored", and the table never showed it.
        earlier = self._pending.get(event.file_id)
        if earlier is not None and not event.rate and earlier.rate:
            event = replace(event, rate=earlier.rate)
        self._pending[event.file_id] = event
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush(self) -> None:
        self._flush_timer.stop()
        if not self._pending:
            return
        events, self._pending = list(self._pending.values()), {}
        self.model.apply(events)
        self._update_total()
        self.changed.emit()

    def _update_total(self) -> None:
        """Bytes stored of everything queued (cancelled files left out), with the overall rate
        and time left while files upload. An empty queue says so (it read "0 %")."""
        done, size = self.model.totals()
        if not self.model.rows:
            self.total.setValue(0)
            self.total.setFormat("Nothing queued")
            return
        self.total.setValue(int(100 * done / size) if size else 100)
        text = "%p % of everything queued"
        rate = self.model.rate()
        if rate > 0:
            text += f" — {human_size(rate)}/s, {_eta((size - done) / rate)} left"
        self.total.setFormat(text)

    def cancel_question(self, count: int) -> QMessageBox:
        return question(
            self,
            "Cancel uploads?",
            f"Cancel the upload of {count} file(s)?",
            "The parts already sent are dropped from storage; the files on this computer are "
            "not touched, and Resume / Retry sends them again from the start.",
            "Cancel uploads",
            "Keep uploading",
        )

    def cancel_selected(self) -> None:
        """Cancel after asking: a cancel drops the parts already sent."""
        ids = [i for i in self.selected_ids() if self.model.state(i) not in FINAL_STATES]
        if not ids:
            return
        box = self.cancel_question(len(ids))
        box.exec()
        accepted = box.buttonRole(box.clickedButton()) == QMessageBox.ButtonRole.AcceptRole
        if accepted and self.engines is not None:
            self.engines.control("cancel", ids)

    def selected_ids(self) -> list[str]:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return [self.model.index(row, 0).data(FILE_ID_ROLE) for row in sorted(rows)]

    def _each_selected(self, action: str) -> None:
        """Pause, cancel or resume (a failed conversion goes round again too): the engines do it
        and their events update the rows."""
        ids = self.selected_ids()
        if self.engines is not None and ids:
            self.engines.control(action, ids)


def _read_queue(queue: UploadQueue) -> tuple[list, dict[str, int]]:
    """On a worker: the queue's rows, and the bytes already sent of each unfinished multipart
    upload (its recorded parts)."""
    items = queue.items()
    sent = {}
    for item in items:
        if item.upload_id and item.state not in (UploadState.STORED, UploadState.CANCELLED):
            parts = queue.parts(item.file_id, item.upload_id)
            sent[item.file_id] = min(item.size, sum(p.size for p in parts.values()))
    return items, sent
