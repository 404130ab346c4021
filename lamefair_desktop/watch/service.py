"""Watch folders: files land in the right experiment while the microscope writes them (no Qt).

A rule maps a folder (local or a network share) to an experiment and an instrument pair, with
include/exclude patterns. The watcher takes a file only once it has settled: the same size and
mtime over several checks spanning the quiet time, no lock sidecar (`NAME.lock`, `NAME.writing`),
its completion marker present where the rule names one, and it opens for reading (on Windows a
file still held by the acquisition software raises a sharing violation). Native file events
(watchdog) only wake the scan early; the scan itself is the truth, so shares where events are
unreliable work the same with `polling`.

The ledger (`watch_ledger`) records every file taken: path, size, mtime, SHA-256, measurement, file
id, version, state. Ids are chosen and committed before the catalog is asked, so a crash or kill at
any point replays the same idempotent create: nothing is registered twice, and the catch-up scan at
start takes whatever arrived while the app was closed. A file that changes after it was taken is
taken again as a new version (a new measurement, its own prefix): never overwritten. Nothing is
deleted from the folder unless the rule opts in, and then only once the file, read again, matches
the SHA-256 the catalog stored (free_space.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.upload import Uploader
from lamefair_desktop.watch.folder import FolderWatcher
from lamefair_desktop.watch.rules import WatchEvent, WatchRule, WatchStore

log = logging.getLogger(__name__)

MIN_SCAN_GAP = 0.5  # seconds between the starts of two scans


class WatchService:
    """All enabled rules of a catalog: native events wake a scan loop that settles and takes files."""

    def __init__(
        self,
        store: WatchStore,
        uploader: Uploader,
        derived: DerivedQueue,
        *,
        log_event: Callable[[WatchEvent], None] = lambda e: None,
        experiment_for: Callable[[WatchRule], str | None] = lambda rule: rule.experiment_id,
        on_taken: Callable[[int], None] = lambda count: None,
        interval: float = 1.0,
    ) -> None:
        self.store = store
        self.uploader = uploader
        self.derived = derived
        self.log_event = log_event
        self.experiment_for = experiment_for
        self.on_taken = on_taken
        self.interval = interval
        self._wake = threading.Event()
        self._watchers: dict[str, FolderWatcher] = {}
        self._observers: dict[str, object] = {}

    def wake(self) -> None:
        self._wake.set()

    def _sync_rules(self) -> None:
        rules = {r.id: r for r in self.store.rules(self.uploader.client.catalog_key) if r.enabled}
        for rule_id in set(self._watchers) - set(rules):
            self._stop_observer(rule_id)
            del self._watchers[rule_id]
        for rule_id, rule in rules.items():
            watcher = self._watchers.get(rule_id)
            if watcher is None or watcher.rule != rule:
                self._stop_observer(rule_id)
                self._watchers[rule_id] = FolderWatcher(
                    rule,
                    self.store,
                    self.uploader,
                    self.derived,
                    log_event=self.log_event,
                    experiment_for=self.experiment_for,
                )
                if watcher is None:
                    self.log_event(
                        WatchEvent(
                            rule.id,
                            rule.folder,
                            f"Watching {rule.folder} "
                            f"({'polling' if rule.polling else 'file events + scans'}).",
                        )
                    )
                self._start_observer(rule)

    def _start_observer(self, rule: WatchRule) -> None:
        if rule.polling or not Path(rule.folder).is_dir():
            return  # the scan loop polls anyway
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return
        service = self

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event) -> None:  # noqa: ARG002 - any change: scan now
                service.wake()

        observer = Observer()
        try:
            observer.schedule(Wake(), rule.folder, recursive=True)
            observer.start()
        except OSError as exc:  # e.g. inotify watches exhausted: polling still works
            log.warning("no file events for %s: %s", rule.folder, exc)
            return
        self._observers[rule.id] = observer

    def _stop_observer(self, rule_id: str) -> None:
        observer = self._observers.pop(rule_id, None)
        if observer is not None:
            observer.stop()
            observer.join(5)

    def tick(self) -> int:
        self._sync_rules()
        taken = 0
        for watcher in list(self._watchers.values()):
            try:
                taken += watcher.tick()
            except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the others
                log.exception("watch rule %s failed", watcher.rule.folder)
                watcher.say(f"Unexpected problem: {exc}; the watcher goes on.", "error")
        if taken:
            self.on_taken(taken)
        return taken

    def run(self, cancel: threading.Event) -> None:
        try:
            while not cancel.is_set():
                started = time.monotonic()
                self.tick()
                self._wake.wait(self.interval)
                self._wake.clear()
                # A burst of file events must not turn the scans into a busy loop (the UI thread
                # shares the interpreter): at most a few scans a second.
                cancel.wait(max(0.0, MIN_SCAN_GAP - (time.monotonic() - started)))
        finally:
            for rule_id in list(self._observers):
                self._stop_observer(rule_id)
