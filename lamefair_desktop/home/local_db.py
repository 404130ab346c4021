"""The desktop's local SQLite database (catalog cache, outbox, durable transfer queue).

One file in the platformdirs data folder, WAL mode so the UI can read while a transfer commits.
Versioned with SQLite's `user_version`: a newer app upgrades the file in place; an older app
refuses a newer file instead of damaging it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from lamefair_desktop.home import paths

# Every table is declared on LocalBase in tables.py; importing it registers them all (plain: see
# there; both are imported from here by older callers).
from lamefair_desktop.home.tables import LocalBase, plain  # noqa: F401

# 2: derived_jobs; 3: watch_rules, watch_ledger; 4: upload_claims; 5: catalog_addresses, and the
# `server` column of every table holds the catalog's id (rows of a URL are re-filed on connecting:
# catalog_identity.py); 6: derived_jobs.server_* (the catalog's FAIRmat verdict)
SCHEMA_VERSION = 6

# Columns added to tables that already existed: create_all() makes new tables only.
_ADDED_COLUMNS = {
    6: (
        ("derived_jobs", "server_valid", "BOOLEAN"),
        ("derived_jobs", "server_validator", "VARCHAR(64) NOT NULL DEFAULT ''"),
        ("derived_jobs", "server_report", "TEXT NOT NULL DEFAULT ''"),
    ),
}


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
        # BEGIN IMMEDIATE takes the write lock before looking: processes opening a fresh data
        # folder at once (three `lamefair upload` started together) all saw no tables, all
        # created them, and all but one died on "table uploads already exists".
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        version = connection.execute(text("PRAGMA user_version")).scalar() or 0
        if version > SCHEMA_VERSION:
            raise LocalDatabaseError(
                f"{path} was written by a newer lamefair (schema {version}); update lamefair "
                "rather than use an older version with it."
            )
        if version:
            for added_in, columns in sorted(_ADDED_COLUMNS.items()):
                if version < added_in:
                    for table, column, kind in columns:
                        if _has_table(connection, table):
                            connection.exec_driver_sql(
                                f"ALTER TABLE {table} ADD COLUMN {column} {kind}"
                            )
        LocalBase.metadata.create_all(connection)
        connection.execute(text(f"PRAGMA user_version={SCHEMA_VERSION}"))
        connection.commit()


def _has_table(connection, table: str) -> bool:
    return (
        connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)
        ).first()
        is not None
    )
