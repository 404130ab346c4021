"""The one generic adapter from a core job to Qt signals.

A core job is a plain callable `fn(report, cancel) -> result`: it calls `report(progress)` with a
dataclass now and then, checks `cancel.is_set()` between chunks, and returns a result (a dataclass or
plain value). `Job` runs it on a QThreadPool and emits started / progress / finished / failed /
cancelled on the UI thread (queued connections; Qt delivers them to the receiver's thread).
Only dataclasses and plain values cross threads, never ORM objects or widgets.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from lamefair_desktop.workers.pools import general_pool

Report = Callable[[Any], None]
JobFunction = Callable[[Report, threading.Event], Any]


BACKGROUND_NICE = 10


def lower_thread_priority() -> None:
    """Long transfers and conversions yield the CPU to the UI thread (and to the microscope's
    own software). Linux keeps a nice value per thread, and threads the engine starts from here
    inherit it; elsewhere this does nothing."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError):
        thread = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, max(current, BACKGROUND_NICE))


class JobSignals(QObject):
    started = Signal()
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str)  # message for people, technical details for the report dialog
    cancelled = Signal()


class Job(QRunnable):
    """Run `fn` on a pool; progress is throttled to a few updates a second."""

    def __init__(
        self, fn: JobFunction, *, min_interval: float = 0.2, background: bool = False
    ) -> None:
        super().__init__()
        self.fn = fn
        self.background = background
        self.signals = JobSignals()
        self.cancel_event = threading.Event()
        self._min_interval = min_interval
        self._last_progress = 0.0
        # The pool must not delete the runnable while signals may still be queued from it.
        self.setAutoDelete(False)

    def cancel(self) -> None:
        self.cancel_event.set()

    def _report(self, progress: Any) -> None:
        now = time.monotonic()
        if now - self._last_progress >= self._min_interval:
            self._last_progress = now
            self.signals.progress.emit(progress)

    def run(self) -> None:
        if self.background:
            lower_thread_priority()
        self.signals.started.emit()
        try:
            result = self.fn(self._report, self.cancel_event)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a signal, never a crash
            self.signals.failed.emit(str(exc) or exc.__class__.__name__, traceback.format_exc())
            return
        if self.cancel_event.is_set():
            self.signals.cancelled.emit()
        else:
            self.signals.finished.emit(result)

    def start_on(self, pool: QThreadPool) -> Job:
        pool.start(self)
        return self


class JobGroup:
    """The short jobs one window or panel starts: each is kept referenced until it reports (the
    pool does not own it, see setAutoDelete), and a failure without its own handler goes to the
    owner's `failed(message)`, never nowhere."""

    def __init__(self, failed: Callable[[str], None]) -> None:
        self.jobs: set[Job] = set()
        self.failed = failed

    def run(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None] | None = None,
        failed: Callable[[str, str], None] | None = None,
        *,
        pool: QThreadPool | None = None,
        background: bool = False,
    ) -> Job:
        """Run `work()` on a pool (the general one by default); `done(result)` or
        `failed(message, details)` on the UI thread."""
        job = Job(lambda report, cancel: work(), background=background)
        self.jobs.add(job)
        if done is not None:
            job.signals.finished.connect(done)
        job.signals.failed.connect(failed or (lambda message, _details: self.failed(message)))
        job.signals.finished.connect(lambda _result: self.jobs.discard(job))
        job.signals.failed.connect(lambda *_args: self.jobs.discard(job))
        job.start_on(pool or general_pool())
        return job
