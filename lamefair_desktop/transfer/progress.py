"""Progress accounting of uploads: per-file events, and their sum per measurement.

Rates are smoothed (a few updates per second of a busy file would otherwise jump around), and the
per-measurement totals are O(1) per event: a measurement of thousands of files sends thousands.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from lamefair_desktop.transfer.states import UploadState


@dataclass(frozen=True)
class FileProgress:
    file_id: str
    measurement_id: str
    path: str
    size: int
    bytes_done: int
    rate: float  # bytes per second, smoothed
    eta: float | None  # seconds
    state: str
    error: str = ""


@dataclass(frozen=True)
class MeasurementProgress:
    measurement_id: str
    files: int
    files_stored: int
    files_failed: int
    bytes_done: int
    size: int
    rate: float
    eta: float | None


class MeasurementTotals:
    """Folds per-file progress into per-measurement progress (thread-safe, O(1) per event: a
    measurement of thousands of files sends thousands of events)."""

    def __init__(self) -> None:
        self._files: dict[str, dict[str, FileProgress]] = {}
        self._sums: dict[str, list[float]] = {}  # size, done, rate of uploading, stored, failed
        self._lock = threading.Lock()

    def knows(self, measurement_id: str) -> bool:
        with self._lock:
            return measurement_id in self._files

    def update(self, event: FileProgress) -> MeasurementProgress:
        with self._lock:
            files = self._files.setdefault(event.measurement_id, {})
            sums = self._sums.setdefault(event.measurement_id, [0, 0, 0.0, 0, 0])
            for sign, item in ((-1, files.get(event.file_id)), (1, event)):
                if item is None:
                    continue
                sums[0] += sign * item.size
                sums[1] += sign * item.bytes_done
                sums[2] += sign * (item.rate if item.state == UploadState.UPLOADING else 0.0)
                sums[3] += sign * (item.state == UploadState.STORED)
                sums[4] += sign * (item.state == UploadState.FAILED)
            files[event.file_id] = event
            size, done, rate, stored, failed = sums
            count = len(files)
        rate = max(rate, 0.0)
        return MeasurementProgress(
            event.measurement_id,
            count,
            int(stored),
            int(failed),
            int(done),
            int(size),
            rate,
            (size - done) / rate if rate > 0 else None,
        )


class Meter:
    """Bytes done and a smoothed rate for one file; thread-safe."""

    def __init__(self, done: int = 0) -> None:
        self.done = done
        self.rate = 0.0
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self._last_done = done

    def add(self, count: int) -> None:
        with self._lock:
            self.done += count
            now = time.monotonic()
            if now - self._last >= 0.2:
                instant = (self.done - self._last_done) / (now - self._last)
                self.rate = instant if self.rate == 0 else 0.7 * self.rate + 0.3 * instant
                self._last, self._last_done = now, self.done
