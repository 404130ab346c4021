"""Full fixity passes over every stored object, shared by the processes that run them.

A pass is a row of `fixity_passes`; it covers the objects not checked since it started. A process
that starts while a pass is unfinished joins it, so a pass stopped by a crash or a SIGTERM is
resumed where it stopped (what is left is exactly what was not checked since the start), and
several processes share one pass. The process that finds nothing left (and nobody still
checking) marks it finished.

Pacing: `rate` bounds the bytes read per second by this process. With a `period` (periodic mode,
`--every`), the pass is also spread over that period: each object is read at the pace that
would read what is left by the pass's deadline (start + period), never faster than `rate`; the
next pass starts one period after this one started. With k processes each paces itself, so the
pass ends early rather than late.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from lamefair_catalog.database.models import FixityObject, FixityPass
from lamefair_catalog.domain import fixity
from lamefair_catalog.domain.catalog import Catalog

log = logging.getLogger("lamefair_catalog.fixity")
MIN_PACE = 64 * 1024  # bytes/s: a pass spread over a long period still moves


@dataclass
class PassReport:
    pass_id: int | None = None
    checked: int = 0
    problems: list[str] = field(default_factory=list)  # one line each, mismatches and missing
    errors: list[str] = field(default_factory=list)  # could not be read
    finished: bool = False  # this process saw the pass end


def join_or_start(catalog: Catalog, period: float | None) -> FixityPass | None:
    """The unfinished pass, or a new one; None in periodic mode while the last pass's period
    has not run out yet. The table lock orders processes that start at the same moment."""
    with catalog.session() as session:
        if session.bind.dialect.name == "postgresql":
            session.execute(text("LOCK TABLE fixity_passes IN SHARE ROW EXCLUSIVE MODE"))
        latest = session.scalar(select(FixityPass).order_by(FixityPass.id.desc()).limit(1))
        at = fixity.now()
        if latest is not None and latest.finished_at is None:
            session.commit()
            return latest
        if period and latest is not None and latest.started_at + timedelta(seconds=period) > at:
            session.commit()
            return None
        fixity.enrol(session)
        started = FixityPass(started_at=at)
        session.add(started)
        session.commit()
        return started


RETRY_UNFINISHED = (
    60.0  # seconds: an unfinished pass (others still at it, storage down) is rejoined
)


def next_start(catalog: Catalog, period: float) -> datetime | None:
    """When a periodic run should look again: the next pass's start, or soon while the latest
    pass is unfinished."""
    with catalog.session() as session:
        latest = session.scalar(select(FixityPass).order_by(FixityPass.id.desc()).limit(1))
    if latest is None:
        return None
    if latest.finished_at is None:
        return fixity.now() + timedelta(seconds=RETRY_UNFINISHED)
    return latest.started_at + timedelta(seconds=period)


def _left(catalog: Catalog, cutoff: datetime) -> tuple[int, int]:
    """(bytes still due, of which objects claimed by someone now)."""
    with catalog.session() as session:
        due_bytes = session.scalar(
            select(func.coalesce(func.sum(FixityObject.size), 0)).where(fixity.due(cutoff))
        )
        held = session.scalar(
            select(func.count())
            .select_from(FixityObject)
            .where(fixity.due(cutoff), ~fixity.free(fixity.now()))
        )
    return int(due_bytes or 0), int(held or 0)


def _finish(catalog: Catalog, pass_id: int) -> bool:
    with catalog.session() as session:
        row = session.get(FixityPass, pass_id)
        if row.finished_at is None:
            row.finished_at = fixity.now()
        session.commit()
    return True


def run_pass(
    catalog: Catalog,
    stop: threading.Event,
    *,
    rate: float | None = None,
    period: float | None = None,
    worker: str | None = None,
    say: Callable[[str], None] = print,
) -> PassReport:
    """Check what is due in the current pass until none is left or `stop` is set."""
    worker = worker or fixity.worker_name()
    report = PassReport()
    current = join_or_start(catalog, period)
    if current is None:
        return report
    report.pass_id, cutoff = current.id, current.started_at
    deadline = current.started_at + timedelta(seconds=period) if period else None
    while not stop.is_set():
        target = fixity.claim_next(catalog, cutoff, worker, rate)
        if target is None:
            _, held = _left(catalog, cutoff)
            if held == 0:  # others may still be reading: the last one out finishes the pass
                report.finished = _finish(catalog, current.id)
            break
        pace = rate
        if deadline is not None:
            left, _ = _left(catalog, cutoff)
            seconds = max((deadline - fixity.now()).total_seconds(), 1.0)
            spread = max(left / seconds, MIN_PACE)
            pace = min(rate, spread) if rate else spread
        try:
            outcome = fixity.check(catalog, target, pace, stop.wait)
        except fixity.Interrupted:
            fixity.release(catalog, target)
            break
        if outcome.result == "error" and catalog.storage.breaker.is_open:
            # Storage stopped answering: every object would fail the same way. Record nothing
            # and stop; the next run resumes the pass here.
            fixity.release(catalog, target)
            line = (
                f"NOT CHECKED {target.where}: {outcome.detail} Stopping; the pass resumes next run."
            )
            report.errors.append(line)
            say(line)
            break
        fixity.record(catalog, target, outcome, worker, current.id)
        report.checked += 1
        if outcome.result in fixity.PROBLEMS:
            line = f"{outcome.result.upper()} {target.where}: {outcome.detail}"
            report.problems.append(line)
            say(line)
        elif outcome.result == "error":
            line = f"NOT CHECKED {target.where}: {outcome.detail}"
            report.errors.append(line)
            say(line)
    log.info(
        "fixity pass %s: %d checked here, %d problem(s), %d not readable%s",
        report.pass_id,
        report.checked,
        len(report.problems),
        len(report.errors),
        ", pass finished" if report.finished else "",
    )
    return report
