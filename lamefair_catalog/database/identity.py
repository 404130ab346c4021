"""The catalog's own id, as `/api/health` reports it (clients key their queues by it).

Created by migration 0002; read once per process and then kept, so health checks cost no query
for it and still report it while the database is briefly unreachable. Should the row be missing
(a database restored without it), the first process to notice creates it; a racing process loses
on the primary key and reads the winner's.
"""

from __future__ import annotations

import threading
import uuid

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from lamefair_catalog.database.models import CatalogIdentity


class CatalogIdentityReader:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._lock = threading.Lock()
        self._id: str | None = None

    @property
    def known(self) -> str | None:
        """The id if it was read already; never touches the database (async health route)."""
        return self._id

    def get(self) -> str | None:
        """The id, or None while the database cannot be read (never a made-up one)."""
        with self._lock:
            if self._id is None:
                try:
                    self._id = self._read_or_create()
                except OperationalError:
                    return None
            return self._id

    def _read_or_create(self) -> str:
        for _ in range(2):
            with self.sessions() as session:
                row = session.get(CatalogIdentity, 1)
                if row is not None:
                    return str(row.catalog_id)
                session.add(CatalogIdentity(slot=1, catalog_id=uuid.uuid4()))
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
        with self.sessions() as session:
            return str(session.get(CatalogIdentity, 1).catalog_id)
