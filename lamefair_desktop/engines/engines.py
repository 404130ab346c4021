"""The background engines of one catalog, run together: uploads, conversions to NXem and watch
folders (no Qt).

`lamefair watch` runs them in its own process; the desktop runs them in a child process
(process.py), so that hashing, uploading and scanning never compete with the window for
the interpreter. Everything they have to say goes through one `emit(event)` callable as frozen
dataclasses: FileProgress, MeasurementProgress, DerivedJob, MeasurementConverted, WatchEvent,
UploadsIdle and EngineFailed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.engines.messages import EngineFailed, UploadsIdle
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.deriver import Deriver
from lamefair_desktop.transfer.progress import FileProgress
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from lamefair_desktop.watch.rules import WatchRule, WatchStore
from lamefair_desktop.watch.service import WatchService

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.2  # seconds between progress events of one file; state changes always go
RESCAN_SECONDS = 2.0  # how often the upload loop looks for files queued by another process
CONVERSION_POLL = 1.0  # how soon a freshly stored TIFF is converted
RESTART_AFTER = 5.0  # an engine that failed unexpectedly starts again after this pause

Emit = Callable[[object], None]


class Engines:
    def __init__(
        self,
        client: CatalogClient,
        sessions: sessionmaker[Session],
        emit: Emit,
        *,
        upload_settings: UploadSettings | None = None,
        progress_interval: float = PROGRESS_INTERVAL,
        validate_with_pynx: bool | None = None,
        derived_dir: Path | None = None,  # where NXem files are written (default: settings)
        settings: Settings | None = None,  # as loaded by the caller (default: read once)
    ) -> None:
        self.emit = emit
        self.uploads = UploadQueue(sessions)
        self.derived = DerivedQueue(sessions)
        self.watch_store = WatchStore(sessions)
        self.uploader = Uploader(
            client,
            self.uploads,
            upload_settings,
            progress=self._file_progress,
            measurement_progress=emit,
        )
        self.deriver = Deriver(
            client,
            self.uploads,
            self.derived,
            progress=emit,
            converted=emit,
            validate_with_pynx=validate_with_pynx,
            output_dir=derived_dir,
            settings=settings,
        )
        # Rules that follow the selection send files to the experiment selected in the app.
        self.selected_experiment_id = ""
        self.watch = WatchService(
            self.watch_store,
            self.uploader,
            self.derived,
            log_event=emit,
            experiment_for=self._experiment_for,
            on_taken=lambda _count: self.kick(),
        )
        self.stopping = threading.Event()
        self._kick = threading.Event()
        self._progress_interval = progress_interval
        self._last_progress: dict[str, tuple[float, str]] = {}
        self._progress_lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _experiment_for(self, rule: WatchRule) -> str | None:
        return rule.experiment_id or self.selected_experiment_id or None

    def _file_progress(self, event: FileProgress) -> None:
        """Called on the engine's threads: throttle per file, never drop a change of state."""
        now = time.monotonic()
        with self._progress_lock:
            last_time, last_state = self._last_progress.get(event.file_id, (0.0, ""))
            if event.state == last_state and now - last_time < self._progress_interval:
                return
            self._last_progress[event.file_id] = (now, event.state)
        self.emit(event)

    # --- running ------------------------------------------------------------------------------

    def start(self) -> None:
        loops = {
            "uploads": self._upload_loop,
            "conversions": lambda: self.deriver.run(self.stopping, poll=CONVERSION_POLL),
            "watch": lambda: self.watch.run(self.stopping),
        }
        for name, loop in loops.items():
            thread = threading.Thread(target=self._keep_running, args=(name, loop), name=name)
            thread.start()
            self._threads.append(thread)

    def _keep_running(self, name: str, loop: Callable[[], object]) -> None:
        """A bug or an unforeseen error must not end the engine for good: say so, wait, go on."""
        while not self.stopping.is_set():
            try:
                loop()
            except Exception as exc:  # noqa: BLE001 - reported, then the engine goes on
                log.exception("the %s engine failed", name)
                self.emit(EngineFailed(name, str(exc) or exc.__class__.__name__))
                self.stopping.wait(RESTART_AFTER)

    def _upload_loop(self) -> None:
        last: dict | None = None
        while not self.stopping.is_set():
            counts = self.uploader.run(self.stopping)
            if counts != last:
                self.emit(UploadsIdle(counts))
                last = counts
            self._kick.wait(RESCAN_SECONDS)
            self._kick.clear()

    def kick(self) -> None:
        """New files were queued (here or by another process): upload them now."""
        self._kick.set()

    def stop(self) -> None:
        """Let every engine reach a clean point (parts in flight finish; the queues keep the
        rest), then close the HTTP clients."""
        self.stopping.set()
        self._kick.set()
        self.watch.wake()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self.uploader.close()
        self.deriver.close()

    # --- control ------------------------------------------------------------------------------

    def pause(self, file_ids: list[str]) -> None:
        for file_id in file_ids:
            self.uploader.pause(file_id)

    def cancel(self, file_ids: list[str]) -> None:
        for file_id in file_ids:
            self.uploader.cancel(file_id)

    def resume(self, file_ids: list[str]) -> None:
        """Paused, failed or cancelled files go again, and so do failed conversions."""
        for file_id in file_ids:
            self.uploader.resume(file_id)
            self.derived.retry(file_id)
        self.kick()

    def signed_in(self) -> int:
        """Files that waited for a sign-in go now; returns how many."""
        resumed = self.uploader.resume_after_sign_in()
        self.kick()
        return resumed

    def rules_changed(self) -> None:
        self.watch.wake()
