"""What every domain command works with: settings, database sessions, the storage gateway.

One instance per server, shared by every request thread: it keeps no per-request state (each
command opens a session of its own), so it is thread-safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import TimeoutError as SqlTimeout
from sqlalchemy.orm import Session, sessionmaker

from lamefair_catalog.breaker import Breaker
from lamefair_catalog.settings import Settings
from lamefair_catalog.storage.gateway import Storage


class Catalog:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        storage: Storage,
        database: Breaker | None = None,
        *,
        known_pairs: frozenset[str],
        side_sessions: sessionmaker[Session] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.storage = storage
        self.database = database
        # A second pool for a statement a request runs beside its own (engine.SIDE_POOL_SIZE).
        self.side_sessions = side_sessions
        # Instrument pairs a measurement may name (the mappings shipped with lamefair).
        self.known_pairs = known_pairs
        # Hands a stored derived file to the catalog's own validator (verdicts.py), after commit.
        self.on_derived_stored: Callable[[uuid.UUID], None] | None = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session, refused at once (503) while the database is known not to answer."""
        if self.database is None:
            with self.sessions() as session:
                yield session
            return
        with self.database.call(), self.sessions() as session:
            yield session

    @contextmanager
    def side_session(self) -> Iterator[Session | None]:
        """A session holding a connection of the side pool, or None when none is free at once
        (or there is no side pool): the caller then runs the statement on its own session."""
        if self.side_sessions is None:
            yield None
            return
        with self.side_sessions() as session:
            try:
                session.connection()  # taken now, without waiting (the pool's timeout is 0)
            except SqlTimeout:
                yield None
                return
            yield session
