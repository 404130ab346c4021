"""The desktop's local SQLite database (catalog cache, outbox, durable transfer queue).

One file in the platformdirs data folder, WAL mode so the UI can read while a transfer commits.
Alembic owns the schema (`migrations/`, batch mode): a newer app upgrades the file in place
when it opens it, keeping every row; an older app refuses a newer file instead of damaging it.

Files from before Alembic carry their schema number (1 to 6) in SQLite's `user_version`; the
first revision brings any of them to schema 6. Afterwards `user_version` stays at
`MANAGED_BY_ALEMBIC`, past anything those apps know, so that they refuse the file too.

Opening is on every CLI command's path: a file already at the head revision is recognised with
one query, without importing Alembic (about 0.4 s).
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from lamefair_desktop.home import paths

# Every table is declared on LocalBase in tables.py; importing it registers them all (plain: see
# there; both are imported from here by older callers).
from lamefair_desktop.home.tables import LocalBase, plain  # noqa: F401

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest revision in home/migrations/versions (a test checks that they agree).
HEAD_REVISION = "0003"
LAST_HAND_VERSION = 6  # the last schema numbered in user_version, before Alembic
MANAGED_BY_ALEMBIC = 7


_ALEMBIC_LOCK = threading.Lock()


class LocalDatabaseError(RuntimeError):
    pass


def default_path() -> Path:
    return paths.data_dir() / "lamefair.sqlite"


def open_local_db(path: Path | None = None) -> sessionmaker[Session]:
    path = path or default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a crash or kill -9 of the app; only a power cut
        # may lose the last ones, and then S3's own part list (consulted on resume) fills in.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    _migrate(engine, path)
    return sessionmaker(engine, expire_on_commit=False)


def _migrate(engine: Engine, path: Path) -> None:
    with engine.connect() as connection:
        if _state(connection) == (HEAD_REVISION, MANAGED_BY_ALEMBIC):
            connection.rollback()
            return  # the usual case: one read, no lock, no Alembic
        connection.rollback()
        # Off for the migration: a batch step copies a table, drops it and renames the copy;
        # dropping `uploads` with foreign keys on would delete its `upload_parts` (CASCADE).
        # SQLite ignores this pragma inside a transaction, hence before BEGIN.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            # BEGIN IMMEDIATE takes the write lock before looking: processes opening a fresh
            # data folder at once (three `lamefair upload` started together) all saw no
            # tables, all created them, and all but one died on "table uploads already exists".
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            revision, version = _state(connection)  # again: another process may have done it
            if revision is None and version > LAST_HAND_VERSION:
                raise _newer(path, f"schema {version}")
            if revision != HEAD_REVISION:
                _upgrade(connection, path, revision)
            connection.exec_driver_sql(f"PRAGMA user_version={MANAGED_BY_ALEMBIC}")
            connection.commit()
        finally:
            connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def _state(connection: Connection) -> tuple[str | None, int]:
    """The file's Alembic revision (None: none yet) and its `user_version`."""
    version = connection.exec_driver_sql("PRAGMA user_version").scalar() or 0
    has_table = connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
    ).first()
    if has_table is None:
        return None, version
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar(), version


def _upgrade(connection: Connection, path: Path, revision: str | None) -> None:
    """Alembic's upgrade to head on the caller's locked connection (see home/migrations/)."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    if revision is not None:
        try:
            ScriptDirectory.from_config(config).get_revision(revision)
        except CommandError:
            raise _newer(path, f"schema revision {revision}") from None
    # Alembic runs a migration through module globals (`alembic.context`, `alembic.op`): two
    # threads upgrading two files at once (two clients in one process) broke each other's.
    with _ALEMBIC_LOCK:
        command.upgrade(config, "head")


def _newer(path: Path, schema: str) -> LocalDatabaseError:
    return LocalDatabaseError(
        f"{path} was written by a newer lamefair ({schema}); update lamefair "
        "rather than use an older version with it."
    )
