"""One watch rule at work: scan the folder, settle files, take them, follow their uploads.

A file is taken only once it has settled: the same size and mtime over several checks spanning
the quiet time, no lock sidecar (`NAME.lock`, `NAME.writing`), its completion marker present
where the rule names one, and it opens for reading (on Windows a file still held by the
acquisition software raises a sharing violation). A file that changes after it was taken is taken
again as a new version (a new measurement, its own prefix): never overwritten.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from lamefair_catalog.shared import (
    InvalidName,
    PathRefused,
    PathSet,
    sanitize_relative_path,
)
from lamefair_desktop.catalog.client import CatalogError, CatalogUnreachable
from lamefair_desktop.hashing import sha256_of
from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.intake import Intake, Measurement
from lamefair_desktop.transfer.registration import LocalFile
from lamefair_desktop.transfer.upload import Uploader
from lamefair_desktop.watch.after_upload import AfterUpload
from lamefair_desktop.watch.rules import LedgerEntry, LedgerState, WatchEvent, WatchRule, WatchStore

log = logging.getLogger(__name__)

LOCK_SIDECARS = (".lock", ".writing")
MIN_CHECKS = 3  # observations of an unchanged size and mtime before a file counts as settled
BATCH_LIMIT = 1000  # files per measurement


@dataclass
class _Settling:
    fingerprint: tuple[int, int, int]  # size, mtime, ctime
    since: float
    checks: int = 1


@dataclass
class _Batch:
    """What one pass takes: one measurement, its ledger entries and the files to register."""

    latest: dict[str, LedgerEntry]  # the rule's ledger, newest version of each path
    measurement_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    entries: list[LedgerEntry] = field(default_factory=list)
    files: list[LocalFile] = field(default_factory=list)
    together: PathSet = field(default_factory=PathSet)  # its paths must fit in one folder
    _by_hash: dict | None = None

    def by_hash(self) -> dict[tuple[str, int], list[LedgerEntry]]:
        """The ledger by (SHA-256, size), built on first need (renames are rare)."""
        if self._by_hash is None:
            self._by_hash = {}
            for entry in self.latest.values():
                self._by_hash.setdefault((entry.sha256, entry.size), []).append(entry)
        return self._by_hash


class FolderWatcher(AfterUpload):
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
        """Take settled files as one measurement; returns how many go to the catalog."""
        experiment_id = self.experiment_for(self.rule)
        if not experiment_id:
            self._problem(
                "", f"{len(settled)} file(s) wait: select an experiment for this watch folder."
            )
            return 0
        batch = _Batch(latest)
        for item in settled[:BATCH_LIMIT]:
            digest = self._digest(item)
            if digest is not None:
                self._sort(item, digest, batch)
        return self._commit(experiment_id, batch)

    def _digest(self, item: LocalFile) -> str | None:
        """The file's SHA-256; None (and said why) when its name or its bytes cannot be taken."""
        try:
            sanitize_relative_path(item.rel_path)
            return sha256_of(item.path)
        except InvalidName as exc:
            self._problem(item.rel_path, f"{item.rel_path} is skipped: {exc}", "error")
        except OSError as exc:
            self._problem(
                item.rel_path, f"{item.rel_path} could not be read: {exc.strerror or exc}."
            )
        return None

    def _sort(self, item: LocalFile, digest: str, batch: _Batch) -> None:
        """Into the batch's ledger entries as a rename, a touch (same bytes, nothing to send),
        or a new file or version to register."""
        known = batch.latest.get(item.rel_path)
        if known is None:
            moved = self._renamed_from(batch.by_hash(), item, digest)
            if moved is not None:
                batch.entries.append(
                    replace(
                        moved,
                        rel_path=item.rel_path,
                        version=1,
                        state=LedgerState.RENAMED,
                        size=item.size,
                        mtime_ns=item.mtime_ns,
                        error=f"renamed from {moved.rel_path}",
                    )
                )
                self.say(
                    f"{item.rel_path}: renamed from {moved.rel_path}, which is stored already "
                    "(kept under its first name); not uploaded again."
                )
                return
        version = 1 if known is None else known.version + 1
        if known is not None and known.sha256 == digest:
            # Touched but not changed (same bytes): remember the new mtime, send nothing.
            batch.entries.append(
                replace(known, version=version, mtime_ns=item.mtime_ns, size=item.size)
            )
            return
        try:
            batch.together.add(sanitize_relative_path(item.rel_path))
        except PathRefused as exc:  # a.tif beside A.tif: the catalog refuses both together
            self._problem(item.rel_path, f"{item.rel_path} goes in the next batch: {exc}")
            return
        if known is not None:
            self.say(f"{item.rel_path} changed after upload: uploading it as version {version}.")
        batch.files.append(item)
        batch.entries.append(
            LedgerEntry(
                item.rel_path,
                version,
                item.size,
                item.mtime_ns,
                digest,
                batch.measurement_id,
                str(uuid.uuid4()),
                LedgerState.REGISTERING,
                "",
            )
        )

    def _commit(self, experiment_id: str, batch: _Batch) -> int:
        if not batch.entries:
            return 0
        # Committed before the catalog is asked: a crash from here on replays the same ids.
        self.store.record(self.rule.id, batch.entries)
        for item in batch.files:
            self._settling.pop(item.rel_path, None)
        if not batch.files:
            return 0
        registering = [e for e in batch.entries if e.state == LedgerState.REGISTERING]
        self._register(experiment_id, batch.measurement_id, registering, batch.files)
        return len(batch.files)

    def _renamed_from(self, by_hash, item: LocalFile, digest: str) -> LedgerEntry | None:
        for entry in by_hash.get((digest, item.size), []):
            if entry.state == LedgerState.FAILED:
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
            experiment_id,
            self.rule.pair,
            self.rule.operator,
            description,
            self.rule.convert,
            self.rule.zone,
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
            self.store.set_state(self.rule.id, measurement_id, LedgerState.FAILED, str(exc))
            self.say(f"{len(files)} file(s) were refused by the catalog: {exc}", "error")
            return
        self._reported.pop("catalog", None)
        if taken.conversion_problem:
            self.say(f"conversion to NXem not queued: {taken.conversion_problem}", "error")
        self.store.set_state(self.rule.id, measurement_id, LedgerState.QUEUED)
        self.taken += len(files)
        names = ", ".join(f.rel_path for f in files[:3]) + (" …" if len(files) > 3 else "")
        self.say(f"{len(files)} file(s) queued: {names}")

    def _retry_registering(self) -> None:
        """Registrations cut short (offline, crash) go again with the ids they were given."""
        pending = self.store.entries(self.rule.id, (LedgerState.REGISTERING,))
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
                        LedgerState.FAILED,
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
