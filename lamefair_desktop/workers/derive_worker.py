"""Runs the conversion queue (transfer/derived.py) on the conversion pool for as long as the
window is open, and turns its callbacks into signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from lamefair_desktop.transfer.derived import Deriver
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import conversion_pool

POLL_SECONDS = 1.0  # how soon a freshly stored TIFF is picked up


class DeriveWorker(QObject):
    job_changed = Signal(object)  # DerivedJob
    measurement_converted = Signal(object)  # MeasurementConverted
    failed = Signal(str)

    def __init__(self, deriver: Deriver, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.deriver = deriver
        deriver.progress = self.job_changed.emit  # queued to the UI thread by Qt
        deriver.converted = self.measurement_converted.emit
        self._job: Job | None = None

    def start(self) -> None:
        if self._job is not None:
            return
        job = Job(
            lambda report, cancel: self.deriver.run(cancel, poll=POLL_SECONDS), background=True
        )
        job.signals.failed.connect(self._failed)
        job.signals.finished.connect(self._stopped)
        job.signals.cancelled.connect(lambda: self._stopped(None))
        self._job = job
        job.start_on(conversion_pool())

    def stop(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _stopped(self, _result) -> None:
        self._job = None

    def _failed(self, message: str, _details: str) -> None:
        self._job = None
        self.failed.emit(message)
