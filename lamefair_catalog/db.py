"""Engine, sessions and schema migrations (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class NotMigrated(RuntimeError):
    """The database schema is older (or newer) than this server; the message says what to run."""


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


# Every wait on the database is bounded, so a database that stops answering turns into errors
# (HTTP 503) instead of requests, and the worker threads under them, that never finish.
CONNECT_TIMEOUT = 5  # seconds to open a PostgreSQL connection, handshake and sign-in included
STATEMENT_TIMEOUT_MS = 30_000  # PostgreSQL ends a statement (or a lock wait) that runs longer
POOL_TIMEOUT = 10  # seconds to wait for a free pooled connection
SQLITE_BUSY_TIMEOUT = 30  # seconds a SQLite writer waits for another writer's lock


def _postgres_connect_args() -> dict[str, object]:
    return {
        "connect_timeout": CONNECT_TIMEOUT,
        "options": (
            f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={STATEMENT_TIMEOUT_MS}"
        ),
        # A server that vanished (host down, cable pulled) never closes the connection: let TCP
        # keepalives notice within about half a minute.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            # WAL lets readers run during a write; foreign keys are off by default in SQLite.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_timeout=POOL_TIMEOUT,
        connect_args=_postgres_connect_args() if url.startswith("postgresql") else {},
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> None:
    command.upgrade(_alembic_config(engine), "head")


def ensure_migrated(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise NotMigrated(
            f"The catalog database is at schema revision {current or 'none (empty)'}, this server "
            f"needs {head}. Run `lamefair-catalog migrate` with the same LAMEFAIR_DATABASE_URL, "
            "then start the server again."
        )
