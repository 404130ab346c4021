"""Watch rules and the ledger of what each rule took (the tables are in home/tables.py).

A rule maps a folder (local or a network share) to an experiment and an instrument pair, with
include/exclude patterns. The ledger records every file taken: path, size, mtime, SHA-256,
measurement, file id, version, state; its ids are chosen and committed before the catalog is
asked, so a crash at any point replays the same idempotent create.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lamefair_catalog.shared import (
    GENERIC_PAIR,
)
from lamefair_desktop.home.tables import LedgerRow, WatchRuleRow, plain
from lamefair_desktop.home.tables import now as _now
from lamefair_desktop.nexus.local_time import ZoneChoice, zone_info


class LedgerState(StrEnum):
    """A ledger entry's state; the values are stored in `watch_ledger.state`: never change one."""

    REGISTERING = "registering"  # ids chosen and committed; the catalog not yet told
    QUEUED = "queued"  # registered; its upload is queued
    STORED = "stored"
    FREED = "freed"  # stored, verified, and deleted from the folder (free_space)
    KEPT = "kept"  # stored, but free_space found a reason not to delete it
    RENAMED = "renamed"  # the bytes of a file stored under another name: not sent again
    FAILED = "failed"


DEFAULT_EXCLUDE = ("*.tmp", "*.part", "*.partial", "*.lamefair-partial", "~*", ".*", "*.lock")


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
    timezone: str | None = None  # IANA zone of the instrument's clock (None: see WatchRuleRow)

    @property
    def zone(self) -> ZoneChoice | None:
        """The instrument clock's zone as the rule sets it, with the reason the NXem records."""
        if self.timezone is None:
            return None
        return ZoneChoice(self.timezone, f"set on the watch rule for {self.folder}")

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
        """Saved as given; a time zone that is no IANA name raises ValueError (naming it)."""
        if rule.timezone is not None:
            zone_info(rule.timezone)
        with self.sessions() as session:
            row = session.get(WatchRuleRow, rule.id) or WatchRuleRow(id=rule.id)
            row.server, row.folder = rule.server, rule.folder
            row.experiment_id, row.pair, row.operator = rule.experiment_id, rule.pair, rule.operator
            row.include, row.exclude = list(rule.include), list(rule.exclude)
            row.quiet_seconds, row.polling = rule.quiet_seconds, rule.polling
            row.convert, row.free_space = rule.convert, rule.free_space
            row.done_marker, row.enabled = rule.done_marker, rule.enabled
            row.timezone = rule.timezone
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
