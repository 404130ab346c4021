"""Runs the upload engine (transfer/upload.py) off the UI thread and turns its callbacks into
signals. The engine has its own worker threads; this adapter only owns the run loop."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Signal

from lamefair_desktop.transfer.upload import FileProgress, Uploader
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import transfers_pool

PROGRESS_INTERVAL = 0.2  # seconds between updates of one row; state changes always go through


class TransferWorker(QObject):
    file_progress = Signal(object)  # FileProgress
    measurement_progress = Signal(object)  # MeasurementProgress
    finished = Signal(object)  # counts by state
    failed = Signal(str)

    def __init__(self, uploader: Uploader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.uploader = uploader
        self.uploader.progress = self._on_progress
        self.uploader.measurement_progress = self.measurement_progress.emit
        self._last: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._job: Job | None = None

    def _on_progress(self, event: FileProgress) -> None:
        """Called on engine threads: throttle per file, never drop a change of state."""
        now = time.monotonic()
        with self._lock:
            last_time, last_state = self._last.get(event.file_id, (0.0, ""))
            if event.state == last_state and now - last_time < PROGRESS_INTERVAL:
                return
            self._last[event.file_id] = (now, event.state)
        self.file_progress.emit(event)  # queued to the UI thread by Qt

    def running(self) -> bool:
        return self._job is not None

    def start(self) -> None:
        if self._job is not None:
            return
        job = Job(lambda report, cancel: self.uploader.run(cancel), background=True)
        job.signals.finished.connect(self._done)
        job.signals.failed.connect(lambda message, _details: self._failed(message))
        self._job = job
        job.start_on(transfers_pool())

    def stop(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _done(self, counts: dict) -> None:
        self._job = None
        self.finished.emit(counts)

    def _failed(self, message: str) -> None:
        self._job = None
        self.failed.emit(message)
