"""Runs the watch service (watch.py) off the UI thread for as long as the window is open."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from lamefair_desktop.watch import WatchRule, WatchService
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import watch_pool


class WatchWorker(QObject):
    event = Signal(object)  # WatchEvent, for the live log
    taken = Signal(int)  # files just queued: the transfers should run
    failed = Signal(str)

    def __init__(self, service: WatchService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        # Read on the watch thread, written on the UI thread: a str swap is atomic in Python.
        self.selected_experiment_id = ""
        service.log_event = self.event.emit
        service.on_taken = self.taken.emit
        service.experiment_for = self._experiment_for
        self._job: Job | None = None

    def _experiment_for(self, rule: WatchRule) -> str | None:
        return rule.experiment_id or self.selected_experiment_id or None

    def start(self) -> None:
        if self._job is not None:
            return
        job = Job(lambda report, cancel: self.service.run(cancel), background=True)
        job.signals.failed.connect(lambda message, _d: self._failed(message))
        job.signals.finished.connect(lambda _r: self._stopped())
        job.signals.cancelled.connect(self._stopped)
        self._job = job
        job.start_on(watch_pool())

    def rules_changed(self) -> None:
        """A rule was added, removed or switched: scan now rather than at the next tick."""
        self.service.wake()

    def stop(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.service.wake()

    def _stopped(self) -> None:
        self._job = None

    def _failed(self, message: str) -> None:
        self._job = None
        self.failed.emit(message)
