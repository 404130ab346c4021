"""The transfers panel: every queued file with progress, rate, ETA and state; pause, resume,
cancel and retry; a total bar. It shows the durable queue, so it survives a restart."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import FileProgress
from lamefair_desktop.ui.models.transfers_model import FILE_ID_ROLE, TransfersModel
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import general_pool
from lamefair_desktop.workers.transfer_worker import TransferWorker


class TransfersPanel(QWidget):
    loaded = Signal(int)  # rows read from the durable queue

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs: set[Job] = set()
        self.model = TransfersModel()
        self.worker: TransferWorker | None = None
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.total = QProgressBar()
        self.total.setFormat("%p % of everything queued")
        buttons = QHBoxLayout()
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume / Retry")
        self.cancel_button = QPushButton("Cancel")
        for button in (self.pause_button, self.resume_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.pause_button.clicked.connect(lambda: self._each_selected("pause"))
        self.resume_button.clicked.connect(self._resume_selected)
        self.cancel_button.clicked.connect(lambda: self._each_selected("cancel"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.total)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def attach(self, worker: TransferWorker, queue: UploadQueue) -> None:
        """Show the queue as it is now (read on a worker), then follow the engine's events."""
        self.worker = worker
        worker.file_progress.connect(self._on_progress)
        worker.finished.connect(lambda _counts: self._update_total())
        self._run(lambda: queue.items(), self._loaded)

    def _run(self, work, done=None) -> None:
        """Queue reads and pause/cancel requests (which reach the server) go to a worker."""
        job = Job(lambda report, cancel: work())
        self._jobs.add(job)
        if done is not None:
            job.signals.finished.connect(done)
        job.signals.finished.connect(lambda _r, job=job: self._jobs.discard(job))
        job.signals.failed.connect(lambda *_a, job=job: self._jobs.discard(job))
        job.start_on(general_pool())

    def _loaded(self, items) -> None:
        self.model.load(items)
        self._update_total()
        self.loaded.emit(len(items))

    def _on_progress(self, event: FileProgress) -> None:
        self.model.update(event)
        self._update_total()

    def _update_total(self) -> None:
        done, size = self.model.totals()
        self.total.setValue(int(100 * done / size) if size else 0)

    def selected_ids(self) -> list[str]:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return [self.model.index(row, 0).data(FILE_ID_ROLE) for row in sorted(rows)]

    def _each_selected(self, action: str) -> None:
        if self.worker is None:
            return
        uploader, ids = self.worker.uploader, self.selected_ids()
        self._run(lambda: [getattr(uploader, action)(file_id) for file_id in ids])

    def _resume_selected(self) -> None:
        if self.worker is None:
            return
        uploader, ids, worker = self.worker.uploader, self.selected_ids(), self.worker
        self._run(lambda: [uploader.resume(file_id) for file_id in ids], lambda _r: worker.start())
