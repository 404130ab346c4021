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

import fnmatch
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lamefair_catalog.shared import (
    GENERIC_PAIR,
    InvalidName,
    PathRefused,
    PathSet,
    sanitize_relative_path,
)
from lamefair_desktop.catalog.client import CatalogError, CatalogUnreachable
from lamefair_desktop.hashing import sha256_of
from lamefair_desktop.home.tables import LedgerRow, WatchRuleRow, plain
from lamefair_desktop.home.tables import now as _now
from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.intake import Intake, Measurement
from lamefair_desktop.transfer.registration import LocalFile
from lamefair_desktop.transfer.upload import Uploader
from lamefair_desktop.watch.free_space import check_before_delete

log = logging.getLogger(__name__)

DEFAULT_EXCLUDE = ("*.tmp", "*.part", "*.partial", "*.lamefair-partial", "~*", ".*", "*.lock")
LOCK_SIDECARS = (".lock", ".writing")
MIN_CHECKS = 3  # observations of an unchanged size and mtime before a file counts as settled
BATCH_LIMIT = 1000  # files per measurement
MIN_SCAN_GAP = 0.5  # seconds between the starts of two scans


@dataclass(frozen=True)
class WatchRule:
    id: str
    server: str
    folder: str
    experiment_id: str = ""
    pair: str = GENERIC_PAIR
    operator: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    quiet_seconds: float = 5.0
    polling: bool = False
    convert: bool = True
    free_space: bool = False
    done_marker: str = ""
    enabled: bool = True

    @property
    def follows_selection(self) -> bool:
        return not self.experiment_id

    @classmethod
    def of(cls, row: WatchRuleRow) -> WatchRule:
        rule = plain(cls, row)
        return replace(rule, include=tuple(row.include or ()), exclude=tuple(row.exclude or ()))

    def wants(self, rel_path: str) -> bool:
        name = rel_path.rsplit("/", 1)[-1]
        if any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel_path, p) for p in self.exclude):
            return False
        if not self.include:
            return True
        return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel_path, p) for p in self.include)


@dataclass(frozen=True)
class LedgerEntry:
    rel_path: str
    version: int
    size: int
    mtime_ns: int
    sha256: str
    measurement_id: str
    file_id: str
    state: str
    error: str

    @classmethod
    def of(cls, row: LedgerRow) -> LedgerEntry:
        return plain(cls, row)


@dataclass(frozen=True)
class WatchEvent:
    """One line of the live log."""

    rule_id: str
    folder: str
    message: str
    level: str = "info"  # info, warning, error
    at: float = field(default_factory=time.time)


class WatchStore:
    """Rules and ledger in the local database."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def save_rule(self, rule: WatchRule) -> WatchRule:
        with self.sessions() as session:
            row = session.get(WatchRuleRow, rule.id) or WatchRuleRow(id=rule.id)
            row.server, row.folder = rule.server, rule.folder
            row.experiment_id, row.pair, row.operator = rule.experiment_id, rule.pair, rule.operator
            row.include, row.exclude = list(rule.include), list(rule.exclude)
            row.quiet_seconds, row.polling = rule.quiet_seconds, rule.polling
            row.convert, row.free_space = rule.convert, rule.free_space
            row.done_marker, row.enabled = rule.done_marker, rule.enabled
            session.merge(row)
            session.commit()
        return rule

    def rules(self, server: str | None = None) -> list[WatchRule]:
        with self.sessions() as session:
            query = select(WatchRuleRow).order_by(WatchRuleRow.created_at)
            if server is not None:
                query = query.where(WatchRuleRow.server == server)
            return [WatchRule.of(r) for r in session.scalars(query)]

    def find_rule(self, server: str, folder: str) -> WatchRule | None:
        for rule in self.rules(server):
            if Path(rule.folder) == Path(folder):
                return rule
        return None

    def remove_rule(self, rule_id: str) -> None:
        """Forget the rule; its ledger stays (a rule made again for the folder would use it)."""
        with self.sessions() as session:
            row = session.get(WatchRuleRow, rule_id)
            if row is not None:
                session.delete(row)
                session.commit()

    def latest(self, rule_id: str) -> dict[str, LedgerEntry]:
        """The newest version of every path taken by this rule."""
        columns = [getattr(LedgerRow, f.name) for f in fields(LedgerEntry)]
        with self.sessions() as session:
            # Plain rows, not ORM objects: this runs on every scan, over every file taken.
            rows = session.execute(
                select(*columns).where(LedgerRow.rule_id == rule_id).order_by(LedgerRow.version)
            )
            return {row[0]: LedgerEntry(*row) for row in rows}

    def entries(self, rule_id: str, states: tuple[str, ...] | None = None) -> list[LedgerEntry]:
        with self.sessions() as session:
            query = select(LedgerRow).where(LedgerRow.rule_id == rule_id).order_by(LedgerRow.seq)
            if states is not None:
                query = query.where(LedgerRow.state.in_(states))
            return [LedgerEntry.of(r) for r in session.scalars(query)]

    def record(self, rule_id: str, entries: list[LedgerEntry]) -> None:
        with self.sessions() as session:
            seq = session.scalar(select(func.coalesce(func.max(LedgerRow.seq), 0))) or 0
            for offset, entry in enumerate(entries, start=1):
                session.add(
                    LedgerRow(
                        rule_id=rule_id,
                        rel_path=entry.rel_path,
                        version=entry.version,
                        seq=seq + offset,
                        size=entry.size,
                        mtime_ns=entry.mtime_ns,
                        sha256=entry.sha256,
                        measurement_id=entry.measurement_id,
                        file_id=entry.file_id,
                        state=entry.state,
                        error=entry.error,
                    )
                )
            session.commit()

    def set_state(
        self, rule_id: str, measurement_id: str | None, state: str, error: str = "", **where
    ) -> None:
        with self.sessions() as session:
            query = select(LedgerRow).where(LedgerRow.rule_id == rule_id)
            if measurement_id is not None:
                query = query.where(LedgerRow.measurement_id == measurement_id)
            for key, value in where.items():
                query = query.where(getattr(LedgerRow, key) == value)
            for row in session.scalars(query):
                row.state, row.error, row.updated_at = state, error, _now()
            session.commit()


@dataclass
class _Settling:
    fingerprint: tuple[int, int, int]  # size, mtime, ctime
    since: float
    checks: int = 1


class FolderWatcher:
    """One rule: scan, settle, take (register and queue), follow what was taken."""

    def __init__(
        self,
        rule: WatchRule,
        store: WatchStore,
        uploader: Uploader,
        derived: DerivedQueue,
        *,
        log_event: Callable[[WatchEvent], None] = lambda e: None,
        experiment_for: Callable[[WatchRule], str | None] = lambda rule: rule.experiment_id,
    ) -> None:
        self.rule = rule
        self.store = store
        self.uploader = uploader
        self.derived = derived
        self.log_event = log_event
        self.experiment_for = experiment_for
        self._settling: dict[str, _Settling] = {}
        self._reported: dict[str, str] = {}  # path -> last problem said, so the log is not spammed
        self.taken = 0

    def say(self, message: str, level: str = "info") -> None:
        self.log_event(WatchEvent(self.rule.id, self.rule.folder, message, level))

    # --- one pass -----------------------------------------------------------------------------

    def tick(self, now: float | None = None) -> int:
        """Scan once; take what has settled; follow the uploads. Returns files taken."""
        now = time.monotonic() if now is None else now
        self._retry_registering()
        latest = self.store.latest(self.rule.id)  # read once a tick: it grows with every file
        settled = self._scan(now, latest)
        taken = self._take(settled, latest) if settled else 0
        self._follow()
        return taken

    def _candidates(self) -> list[tuple[str, Path, os.stat_result]]:
        root = Path(self.rule.folder)
        found = []
        try:
            walker = os.walk(root)
            for folder, dirs, names in walker:
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    path = Path(folder) / name
                    rel_path = path.relative_to(root).as_posix()
                    if not self.rule.wants(rel_path):
                        continue
                    try:
                        found.append((rel_path, path, path.stat()))
                    except OSError:
                        continue  # removed or renamed between listing and stat
        except OSError as exc:
            self._problem("", f"Cannot read the folder {root}: {exc.strerror or exc}.")
        return found

    def _scan(self, now: float, latest: dict[str, LedgerEntry]) -> list[LocalFile]:
        """The files to take now, oldest first. A file still changing is a barrier: nothing
        written after it is taken before it, so files go in the order they were written."""
        if not Path(self.rule.folder).is_dir():
            self._problem(
                "", f"The folder {self.rule.folder} is not reachable (unplugged or unmounted?)."
            )
            return []
        pending = []
        seen = set()
        for rel_path, path, stat in self._candidates():
            seen.add(rel_path)
            known = latest.get(rel_path)
            if known is not None and (known.size, known.mtime_ns) == (
                stat.st_size,
                stat.st_mtime_ns,
            ):
                continue  # taken already, unchanged
            pending.append((stat.st_mtime_ns, rel_path, path, stat))
        for gone in set(self._settling) - seen:
            del self._settling[gone]
        settled = []
        blocked = False
        for _mtime, rel_path, path, stat in sorted(pending):
            # Every pending file is observed at every scan, barrier or not: each needs its own
            # run of unchanged observations, and counting only from the moment the file before
            # it was taken would release a burst one file per three scans.
            quiet = self._quiet(rel_path, stat, now)
            blocked = blocked or not quiet  # still being written: later files wait for it
            if blocked:
                continue
            if self._complete(rel_path, path):
                settled.append(LocalFile(path, rel_path, stat.st_size, stat.st_mtime_ns))
        return settled

    def _quiet(self, rel_path: str, stat: os.stat_result, now: float) -> bool:
        """Same size, mtime and ctime over MIN_CHECKS scans spanning the quiet time, whatever the
        mtime says: copy tools that keep the original (old) mtime would otherwise hand over a
        file still growing. ctime moves on every write and utime on POSIX, so an in-place
        rewrite that keeps size and mtime is seen too (on Windows it is the creation time)."""
        fingerprint = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        state = self._settling.get(rel_path)
        if state is None or state.fingerprint != fingerprint:
            self._settling[rel_path] = _Settling(fingerprint, now)
            return False
        state.checks += 1
        return state.checks >= MIN_CHECKS and now - state.since >= self.rule.quiet_seconds

    def _complete(self, rel_path: str, path: Path) -> bool:
        """No lock sidecar, the completion marker if the rule has one, and readable."""
        if any(path.with_name(path.name + suffix).exists() for suffix in LOCK_SIDECARS):
            return False
        if self.rule.done_marker:
            marker = self.rule.done_marker.format(name=path.name, stem=path.stem)
            if not (path.parent / marker).exists():
                return False
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as exc:  # a sharing violation on Windows, permissions anywhere
            self._problem(
                rel_path,
                f"{rel_path} cannot be read ({exc.strerror or exc}); it is left for now and tried "
                "again. Check its permissions if this stays.",
                "error",
            )
            return False
        self._reported.pop(rel_path, None)
        return True

    def _problem(self, key: str, message: str, level: str = "warning") -> None:
        if self._reported.get(key) != message:
            self._reported[key] = message
            self.say(message, level)

    # --- taking -------------------------------------------------------------------------------

    def _take(self, settled: list[LocalFile], latest: dict[str, LedgerEntry]) -> int:
        experiment_id = self.experiment_for(self.rule)
        if not experiment_id:
            self._problem(
                "", f"{len(settled)} file(s) wait: select an experiment for this watch folder."
            )
            return 0
        by_hash = None
        entries: list[LedgerEntry] = []
        files: list[LocalFile] = []
        together = PathSet()  # the paths of this measurement must fit in one folder
        measurement_id = str(uuid.uuid4())
        for item in settled[:BATCH_LIMIT]:
            try:
                sanitize_relative_path(item.rel_path)
                digest = sha256_of(item.path)
            except InvalidName as exc:
                self._problem(item.rel_path, f"{item.rel_path} is skipped: {exc}", "error")
                continue
            except OSError as exc:
                self._problem(
                    item.rel_path, f"{item.rel_path} could not be read: {exc.strerror or exc}."
                )
                continue
            known = latest.get(item.rel_path)
            if known is None:
                by_hash = by_hash if by_hash is not None else self._by_hash(latest)
                moved = self._renamed_from(by_hash, item, digest)
                if moved is not None:
                    entries.append(
                        replace(
                            moved,
                            rel_path=item.rel_path,
                            version=1,
                            state="renamed",
                            size=item.size,
                            mtime_ns=item.mtime_ns,
                            error=f"renamed from {moved.rel_path}",
                        )
                    )
                    self.say(
                        f"{item.rel_path}: renamed from {moved.rel_path}, which is stored already "
                        "(kept under its first name); not uploaded again."
                    )
                    continue
            version = 1 if known is None else known.version + 1
            if known is not None and known.sha256 == digest:
                # Touched but not changed (same bytes): remember the new mtime, send nothing.
                entries.append(
                    replace(known, version=version, mtime_ns=item.mtime_ns, size=item.size)
                )
                continue
            try:
                together.add(sanitize_relative_path(item.rel_path))
            except PathRefused as exc:  # a.tif beside A.tif: the catalog refuses both together
                self._problem(item.rel_path, f"{item.rel_path} goes in the next batch: {exc}")
                continue
            if known is not None:
                self.say(
                    f"{item.rel_path} changed after upload: uploading it as version {version}."
                )
            files.append(item)
            entries.append(
                LedgerEntry(
                    item.rel_path,
                    version,
                    item.size,
                    item.mtime_ns,
                    digest,
                    measurement_id,
                    str(uuid.uuid4()),
                    "registering",
                    "",
                )
            )
        if not entries:
            return 0
        # Committed before the catalog is asked: a crash from here on replays the same ids.
        self.store.record(self.rule.id, entries)
        for item in files:
            self._settling.pop(item.rel_path, None)
        if not files:
            return 0
        self._register(
            experiment_id, measurement_id, [e for e in entries if e.state == "registering"], files
        )
        return len(files)

    @staticmethod
    def _by_hash(latest: dict[str, LedgerEntry]) -> dict[tuple[str, int], list[LedgerEntry]]:
        index: dict[tuple[str, int], list[LedgerEntry]] = {}
        for entry in latest.values():
            index.setdefault((entry.sha256, entry.size), []).append(entry)
        return index

    def _renamed_from(self, by_hash, item: LocalFile, digest: str) -> LedgerEntry | None:
        for entry in by_hash.get((digest, item.size), []):
            if entry.state in ("failed",):
                continue
            if not (Path(self.rule.folder) / entry.rel_path).exists():
                return entry
        return None

    def _register(
        self,
        experiment_id: str,
        measurement_id: str,
        entries: list[LedgerEntry],
        files: list[LocalFile],
    ) -> None:
        ids = {e.rel_path: e.file_id for e in entries}
        hashes = {e.rel_path: e.sha256 for e in entries}
        description = f"watch folder {self.rule.folder}"
        about = Measurement(
            experiment_id, self.rule.pair, self.rule.operator, description, self.rule.convert
        )
        try:
            taken = Intake(self.uploader, self.derived).take_files(
                about,
                files,
                measurement_id=measurement_id,
                file_ids=ids,
                known_sha256=hashes,
            )
        except CatalogUnreachable as exc:
            self._problem("catalog", f"{len(files)} file(s) wait for the catalog: {exc}")
            return
        except CatalogError as exc:
            self.store.set_state(self.rule.id, measurement_id, "failed", str(exc))
            self.say(f"{len(files)} file(s) were refused by the catalog: {exc}", "error")
            return
        self._reported.pop("catalog", None)
        if taken.conversion_problem:
            self.say(f"conversion to NXem not queued: {taken.conversion_problem}", "error")
        self.store.set_state(self.rule.id, measurement_id, "queued")
        self.taken += len(files)
        names = ", ".join(f.rel_path for f in files[:3]) + (" …" if len(files) > 3 else "")
        self.say(f"{len(files)} file(s) queued: {names}")

    def _retry_registering(self) -> None:
        """Registrations cut short (offline, crash) go again with the ids they were given."""
        pending = self.store.entries(self.rule.id, ("registering",))
        if not pending:
            return
        experiment_id = self.experiment_for(self.rule)
        if not experiment_id:
            return
        groups: dict[str, list[LedgerEntry]] = {}
        for entry in pending:
            groups.setdefault(entry.measurement_id, []).append(entry)
        root = Path(self.rule.folder)
        for measurement_id, entries in groups.items():
            files = []
            for entry in entries:
                path = root / entry.rel_path
                try:
                    stat = path.stat()
                except OSError:
                    stat = None
                if stat is None or (stat.st_size, stat.st_mtime_ns) != (entry.size, entry.mtime_ns):
                    # Gone or changed before it was ever registered: the next scan takes it anew.
                    self.store.set_state(
                        self.rule.id,
                        measurement_id,
                        "failed",
                        "changed or removed before registration",
                        rel_path=entry.rel_path,
                    )
                    continue
                files.append(LocalFile(path.resolve(), entry.rel_path, entry.size, entry.mtime_ns))
            if files:
                self._register(
                    experiment_id,
                    measurement_id,
                    [e for e in entries if any(f.rel_path == e.rel_path for f in files)],
                    files,
                )

    # --- after upload -------------------------------------------------------------------------

    def _follow(self) -> None:
        """Ledger rows follow their uploads; with free_space, verified files leave the folder."""
        for entry in self.store.entries(self.rule.id, ("queued", "stored")):
            upload = self.uploader.queue.get(entry.file_id)
            if upload is None:
                continue
            if entry.state == "queued" and upload.state == "stored":
                self.store.set_state(self.rule.id, None, "stored", file_id=entry.file_id)
                entry = replace(entry, state="stored")
            elif entry.state == "queued" and upload.state in ("failed", "cancelled"):
                self.store.set_state(
                    self.rule.id,
                    None,
                    "failed",
                    upload.error or upload.state,
                    file_id=entry.file_id,
                )
                self.say(f"{entry.rel_path}: upload {upload.state}: {upload.error}", "error")
                continue
            if entry.state == "stored" and self.rule.free_space:
                self._free(entry)

    def _free(self, entry: LedgerEntry) -> None:
        """Delete the local copy only when proven to be the bytes stored; else say why, once."""
        path = Path(self.rule.folder) / entry.rel_path
        if not path.exists():
            self.store.set_state(self.rule.id, None, "freed", file_id=entry.file_id)
            return
        client = self.uploader.client
        verdict = check_before_delete(
            path, entry.size, entry.mtime_ns, entry.sha256, entry.file_id, client
        )
        key = f"free:{entry.file_id}"
        if not verdict.delete:
            if verdict.final:  # nothing will change that: stop checking (and re-hashing) it
                self.store.set_state(
                    self.rule.id, None, "kept", verdict.reason, file_id=entry.file_id
                )
            self._problem(key, f"{entry.rel_path} is kept, not deleted: {verdict.reason}.")
            return
        try:
            path.unlink()
        except OSError as exc:
            self.say(f"{entry.rel_path} is stored but could not be deleted: {exc}", "warning")
            return
        self._reported.pop(key, None)
        self.store.set_state(self.rule.id, None, "freed", file_id=entry.file_id)
        self.say(f"{entry.rel_path}: stored and verified (SHA-256), local copy deleted.")


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
