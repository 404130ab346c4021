"""Engine, sessions and schema migrations (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from lamefair_catalog.breaker import Breaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class NotMigrated(RuntimeError):
    """The database schema is older (or newer) than this server; the message says what to run."""


class DatabaseNotAnswering(RuntimeError):
    """Refused without asking the database: it stopped answering moments ago (see `breaker`).
    The message is for people; the app answers it with 503 and Retry-After."""


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
# A statement on a server that stopped (SIGSTOP, frozen VM) waits without end: the kernel still
# acknowledges, so neither the statement timeout (server side) nor keepalives fire. What bounds
# the harm is the pool: at most POOL_SIZE + MAX_OVERFLOW requests can hang on connections, fewer
# than FastAPI's 40 worker threads; later ones wait `pool_timeout` and get 503, and new
# connections give up after the connect timeout, which opens the breaker (see below).
POOL_SIZE = 10
MAX_OVERFLOW = 20
# A second, small pool for statements a request runs beside its own (a search counts its facets
# on one while it reads its page on the other). It never waits: when all are taken the request
# runs both on its own connection, so a burst of searches cannot hold one connection each and
# wait for a second (a deadlock until the pool timeout).
SIDE_POOL_SIZE = 4


def _postgres_connect_args(connect_timeout: float) -> dict[str, object]:
    return {
        # libpq takes whole seconds and treats anything under 2 as 2.
        "connect_timeout": max(2, round(connect_timeout)),
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


def make_engine(
    url: str,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    pool_timeout: float = POOL_TIMEOUT,
    pool_size: int = POOL_SIZE,
    max_overflow: int = MAX_OVERFLOW,
) -> Engine:
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
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_timeout=pool_timeout,
        connect_args=_postgres_connect_args(connect_timeout)
        if url.startswith("postgresql")
        else {},
    )


def database_breaker(engine: Engine, cool_down: float) -> Breaker:
    """Refuses sessions for `cool_down` s after the database stopped answering: a connection that
    could not be opened in time or broke (PostgreSQL), or a health check that got no answer. No
    slot limit: the pool is one. A pool that stays taken is no evidence (requests waiting on
    storage hold connections too): that request alone gets its 503. On SQLite an
    OperationalError is a lock or a full disk, and a local file never stops answering."""
    remote = engine.dialect.name != "sqlite"
    return Breaker(
        cool_down=cool_down,
        is_outage=lambda exc: remote and isinstance(exc, OperationalError),
        refusal=lambda: DatabaseNotAnswering(
            "The catalog database is not answering; try again in a moment."
        ),
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_side_session_factory(url: str, connect_timeout: float) -> sessionmaker | None:
    """Sessions on the side pool (SIDE_POOL_SIZE, taken without waiting: see there); None on
    SQLite, where a second connection reads the same file on the same disk and gains nothing."""
    if normalise_url(url).startswith("sqlite"):
        return None
    engine = make_engine(
        url,
        connect_timeout=connect_timeout,
        pool_timeout=0,
        pool_size=SIDE_POOL_SIZE,
        max_overflow=0,
    )
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


class MigrationRefused(RuntimeError):
    """A migration that cannot run as this database user; the message says who must do what."""


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
