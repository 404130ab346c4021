"""Everything one window works with, for one catalog: the connection, the local database, the
sync layer and the queues (no Qt). The GUI opens it on a worker; the CLI could use it alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.orm import Session, sessionmaker

from lamefair_desktop.catalog.client import CatalogError
from lamefair_desktop.catalog.connection import Connection, connect
from lamefair_desktop.catalog.sync import Sync
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from lamefair_desktop.watch.rules import WatchStore


@dataclass(frozen=True)
class Identity:
    """Who we are to the catalog, for the status bar and the operator field."""

    name: str
    roles: tuple[str, ...]
    signed_in: bool
    problem: str = ""

    @property
    def label(self) -> str:
        return self.name if self.signed_in else "not signed in"


class Workspace:
    def __init__(
        self, connection: Connection, sessions: sessionmaker[Session], settings: Settings
    ) -> None:
        self.connection = connection
        self.sessions = sessions
        self.settings = settings
        self.sync = Sync(connection.client, sessions)
        self.uploads = UploadQueue(sessions)
        self.derived = DerivedQueue(sessions)
        self.watch_store = WatchStore(sessions)

    @classmethod
    def open(cls, settings: Settings | None = None) -> Workspace:
        """Connect (starting the local catalog when no server is configured) and open the
        local database. Blocking: call it on a worker."""
        settings = settings or Settings.load()
        sessions = open_local_db()
        return cls(connect(settings, sessions), sessions, settings)

    @property
    def client(self):
        return self.connection.client

    @property
    def is_local(self) -> bool:
        return self.connection.local is not None

    @property
    def server_url(self) -> str:
        """Where the catalog answers now (for people to read)."""
        return self.client.base_url

    @property
    def catalog_key(self) -> str:
        """What this catalog's queued work is filed under (its id: stable across restarts)."""
        return self.client.catalog_key

    def identity(self) -> Identity:
        try:
            me = self.client.me()
        except CatalogError as exc:  # signed out, or offline: the status bar says which
            return Identity("", (), False, str(exc))
        return Identity(me.get("username", ""), tuple(me.get("roles", ())), True)

    @cached_property
    def uploader(self) -> Uploader:
        """Registers new files (hashes them, asks the catalog, queues them); the engines'
        process (engines/process.py) uploads what is queued."""
        return Uploader(
            self.client,
            self.uploads,
            UploadSettings(
                part_concurrency=self.settings.part_concurrency,
                file_concurrency=self.settings.file_concurrency,
            ),
        )

    def close(self) -> None:
        """Close the HTTP clients; stops the local catalog if this process started it."""
        if "uploader" in self.__dict__:
            self.uploader.close()
        self.connection.close()
