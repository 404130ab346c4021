"""The window's side of the engines' process (engines/process.py): commands go down the pipe,
events come back as signals on the UI thread.

A reader thread waits on the child's event queue and emits one signal per event (Qt queues them
to the receivers' thread). If the child dies unexpectedly it is started again, a few times at
most: the durable queues hold everything, so a restart loses nothing.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Signal

from lamefair_desktop.engines.messages import (
    Control,
    EngineFailed,
    EngineReady,
    EngineStopped,
    Kick,
    RulesChanged,
    SelectExperiment,
    SignedIn,
    Stop,
    UploadsIdle,
)
from lamefair_desktop.engines.process import EngineProcess, EngineTarget
from lamefair_desktop.transfer.derived import DerivedJob, MeasurementConverted
from lamefair_desktop.transfer.progress import FileProgress, MeasurementProgress
from lamefair_desktop.watch.rules import WatchEvent

RESTARTS = 3  # unexpected deaths in RESTART_WINDOW before we give up and say so
RESTART_WINDOW = 300.0


class EngineWorker(QObject):
    file_progress = Signal(object)  # FileProgress
    measurement_progress = Signal(object)  # MeasurementProgress
    uploads_idle = Signal(object)  # counts by state
    job_changed = Signal(object)  # DerivedJob
    measurement_converted = Signal(object)  # MeasurementConverted
    watch_event = Signal(object)  # WatchEvent
    ready = Signal(int)  # the child's PID
    failed = Signal(str)  # for the status bar

    def __init__(self, target: EngineTarget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.target = target
        self.process: EngineProcess | None = None
        self._selected = ""
        self._closing = threading.Event()
        self._reader: threading.Thread | None = None
        self._deaths: list[float] = []
        self._early: list[object] = []
        self.ready_pid: int | None = None  # the running child's PID, once it said it is ready
        self._signals = {
            FileProgress: self.file_progress,
            MeasurementProgress: self.measurement_progress,
            DerivedJob: self.job_changed,
            MeasurementConverted: self.measurement_converted,
            WatchEvent: self.watch_event,
        }

    def start(self) -> None:
        if self._reader is not None:
            return
        self._spawn()
        self._reader = threading.Thread(target=self._read, name="engine-events", daemon=True)
        self._reader.start()

    def _spawn(self) -> None:
        process = EngineProcess(self.target)
        process.start()
        if self._selected:
            process.send(SelectExperiment(self._selected))
        for command in self._early:
            process.send(command)
        self._early.clear()
        self.process = process  # only once it can take commands

    def _read(self) -> None:
        while not self._closing.is_set():
            process = self.process
            event = process.next_event(0.5)
            if event is None:
                if not process.alive() and not self._closing.is_set():
                    self._died(process)
                continue
            self._dispatch(event)

    def _dispatch(self, event) -> None:
        signal = self._signals.get(type(event))
        if signal is not None:
            signal.emit(event)
        elif isinstance(event, UploadsIdle):
            self.uploads_idle.emit(event.counts)
        elif isinstance(event, EngineFailed):
            self.failed.emit(
                f"The {event.engine} engine hit a problem and starts again: {event.message}"
            )
        elif isinstance(event, EngineReady):
            self.ready_pid = event.pid
            self.ready.emit(event.pid)
        elif isinstance(event, EngineStopped) and not self._closing.is_set():
            self._died(self.process)

    def _died(self, process: EngineProcess) -> None:
        now = time.monotonic()
        self._deaths = [t for t in self._deaths if now - t < RESTART_WINDOW] + [now]
        process.stop(5)  # reaps it and closes its pipe and queue
        if len(self._deaths) > RESTARTS:
            self.failed.emit(
                f"The background transfers stopped (exit code {process.exitcode}) and keep "
                "stopping; nothing queued is lost. Restart lamefair, and send the log folder "
                "(Help > About) to support if it happens again."
            )
            self._closing.set()
            return
        self.failed.emit(
            f"The background transfers stopped unexpectedly (exit code {process.exitcode}); "
            "they start again and resume where they were."
        )
        self._spawn()

    # --- commands (a few bytes down a pipe: no waiting on the UI thread) ------------------------

    def _send(self, command) -> None:
        if self.process is None:  # not started yet: said as soon as it is
            self._early.append(command)
        else:
            self.process.send(command)

    def kick(self) -> None:
        self._send(Kick())

    def control(self, action: str, file_ids: list[str]) -> None:
        self._send(Control(action, tuple(file_ids)))

    def signed_in(self, tokens=None) -> None:
        self._send(SignedIn(tokens))

    def rules_changed(self) -> None:
        self._send(RulesChanged())

    def select_experiment(self, experiment_id: str) -> None:
        if experiment_id != self._selected:
            self._selected = experiment_id
            self._send(SelectExperiment(experiment_id))

    def request_stop(self) -> None:
        """Ask the child to stop at a clean point, without waiting (the window is closing)."""
        self._closing.set()
        self._send(Stop())

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the child and wait for it (blocking: call it after the event loop)."""
        self._closing.set()
        if self._reader is not None:
            self._reader.join(5)
            self._reader = None
        if self.process is not None:
            self.process.stop(timeout)
