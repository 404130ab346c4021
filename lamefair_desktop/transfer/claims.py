"""Claims on queued uploads, so that processes sharing one data folder never work the same file.

The window's engines, `lamefair watch`, `lamefair upload` and `lamefair queue --resume` all read
the one SQLite queue. Without claims two of them planned, sent and completed the same file at
once: one completed the multipart upload under the other's feet (NoSuchUpload), both recorded the
same parts (UNIQUE constraint failed), and the loser wrote `failed` over a file the catalog had
stored.

Design:
- A claim is a row in `upload_claims` (file id -> owner, lease end). Taking it is ONE statement,
  an upsert whose update only happens when the row is free, already ours or its lease has run
  out; SQLite serialises writers, so exactly one process wins. No read-then-write transaction
  (that would meet SQLITE_BUSY_SNAPSHOT in WAL mode instead of waiting).
- The owner id names the host, the PID, the process start time and a random token (one per
  `Claims`, so two uploaders in one process do not share files either).
- The lease (wall clock, `LEASE_SECONDS`) is renewed by a daemon thread while claims are held.
  A frozen or crashed owner stops renewing and its files are free when the lease ends.
- On the same host a dead owner is noticed at once (no such PID, or the PID now belongs to a
  process started at another time) and its claims are taken over with a compare-and-swap on the
  owner. That check only speeds things up: the lease alone is enough for correctness, which is
  what other hosts (a data folder on a network share) and Windows rely on.
- An owner whose renewal finds a claim gone (it was suspended past its lease and someone took
  over) marks it lost; the uploader then stops that file without writing its state.
Clocks of hosts sharing one folder must agree to within a fraction of the lease.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session, sessionmaker

from lamefair_desktop.home.tables import ClaimRow

LEASE_SECONDS = 30.0  # how long a silent owner keeps its files
RENEW_EVERY = 5.0  # several renewals per lease: one slow commit must not lose a claim


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    started: str  # process start time as the OS reports it ("" where unknown)
    token: str

    def __str__(self) -> str:
        return f"{self.host}|{self.pid}|{self.started}|{self.token}"

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        parts = text.split("|")
        if len(parts) != 4 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2], parts[3])

    def describe(self) -> str:
        """For people: which process has the file."""
        return f"another lamefair process (pid {self.pid} on {self.host})"


def _start_time(pid: int) -> str:
    """The start time of a process in clock ticks since boot (Linux); "" elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode(errors="replace")
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: count from the last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def this_process() -> Owner:
    pid = os.getpid()
    return Owner(socket.gethostname(), pid, _start_time(pid), uuid.uuid4().hex[:12])


def _dead(owner: Owner, me: Owner) -> bool:
    """True only when we are sure: same host and no such process (or another one on its PID)."""
    if owner.host != me.host or owner.pid == me.pid or os.name != "posix":
        # Windows: os.kill(pid, 0) would send CTRL_C_EVENT, not probe. Leases decide there.
        return False
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, and someone else's
    except OSError:
        return False
    started = _start_time(owner.pid)
    return bool(owner.started and started and started != owner.started)


class Claims:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        lease: float = LEASE_SECONDS,
        renew_every: float = RENEW_EVERY,
    ) -> None:
        self.sessions = sessions
        self.owner = this_process()
        self._me = str(self.owner)
        self.lease = lease
        self.renew_every = renew_every
        self._held: set[str] = set()
        self._lost: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # --- taking and giving back ---------------------------------------------------------------

    def take(self, file_ids: Iterable[str]) -> set[str]:
        """Claim what is free (or ours, or held by a dead owner); returns the ids we now hold."""
        ids = list(dict.fromkeys(file_ids))
        if not ids:
            return set()
        now = time.time()
        until = now + self.lease
        with self.sessions() as session:
            for file_id in ids:
                statement = insert(ClaimRow).values(
                    file_id=file_id, owner=self._me, lease_until=until
                )
                session.execute(
                    statement.on_conflict_do_update(
                        index_elements=[ClaimRow.file_id],
                        set_={"owner": self._me, "lease_until": until},
                        where=(ClaimRow.owner == self._me) | (ClaimRow.lease_until < now),
                    )
                )
            session.commit()
            owners = dict(
                session.execute(
                    select(ClaimRow.file_id, ClaimRow.owner).where(ClaimRow.file_id.in_(ids))
                ).all()
            )
            for file_id, text in list(owners.items()):
                other = Owner.parse(text)
                if text != self._me and other is not None and _dead(other, self.owner):
                    taken = session.execute(
                        update(ClaimRow)
                        .where(ClaimRow.file_id == file_id, ClaimRow.owner == text)
                        .values(owner=self._me, lease_until=until)
                    )
                    session.commit()
                    if taken.rowcount == 1:
                        owners[file_id] = self._me
        mine = {file_id for file_id, text in owners.items() if text == self._me}
        with self._lock:
            self._held |= mine
            self._lost -= mine
        if mine:
            self._start_renewing()
        return mine

    def release(self, file_ids: Iterable[str]) -> None:
        ids = list(file_ids)
        if not ids:
            return
        with self.sessions() as session:
            session.execute(
                delete(ClaimRow).where(ClaimRow.file_id.in_(ids), ClaimRow.owner == self._me)
            )
            session.commit()
        with self._lock:
            self._held -= set(ids)
            self._lost -= set(ids)

    def holders(self, file_ids: Iterable[str]) -> dict[str, Owner]:
        """Live claims of other owners on these files (expired ones are free, so not listed)."""
        ids = list(file_ids)
        if not ids:
            return {}
        with self.sessions() as session:
            rows = session.execute(
                select(ClaimRow.file_id, ClaimRow.owner).where(
                    ClaimRow.file_id.in_(ids),
                    ClaimRow.owner != self._me,
                    ClaimRow.lease_until >= time.time(),
                )
            ).all()
        out = {}
        for file_id, text in rows:
            owner = Owner.parse(text)
            if owner is not None and not _dead(owner, self.owner):
                out[file_id] = owner
        return out

    def lost(self, file_id: str) -> bool:
        """True when another process took this file over from us (we were silent too long)."""
        with self._lock:
            return file_id in self._lost

    # --- the lease ----------------------------------------------------------------------------

    def _start_renewing(self) -> None:
        with self._lock:
            if self._renewer is not None or self._stop.is_set():
                return
            self._renewer = threading.Thread(
                target=self._renew_loop, name="upload-claims", daemon=True
            )
            self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.renew_every):
            try:
                self.renew()
            except Exception:  # noqa: BLE001 - a locked database now is retried next round
                continue

    def renew(self) -> None:
        with self._lock:
            held = set(self._held)
        if not held:
            return
        with self.sessions() as session:
            session.execute(
                update(ClaimRow)
                .where(ClaimRow.owner == self._me)
                .values(lease_until=time.time() + self.lease)
            )
            session.commit()
            still = set(session.scalars(select(ClaimRow.file_id).where(ClaimRow.owner == self._me)))
        with self._lock:
            gone = (held & self._held) - still
            self._lost |= gone
            self._held -= gone

    def close(self) -> None:
        """Stop renewing and give back every claim: a clean exit frees its files at once."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        with self._lock:
            held = set(self._held)
        self.release(held)
