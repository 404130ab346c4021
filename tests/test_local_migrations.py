"""The local database on installed PCs: a file from an older lamefair opens with all its rows and
the new columns; a file from a newer lamefair is refused and left as it was.

`fixtures/local_db_schema6.sql` is a file made by lamefair's schema-6 code (before Alembic), one
row in every table; older schemas are that file with what their successors added taken away."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from lamefair_desktop.home import local_db
from lamefair_desktop.home.local_db import LocalBase, LocalDatabaseError, open_local_db
from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.watch.rules import WatchStore

SCHEMA_6 = Path(__file__).parent / "fixtures" / "local_db_schema6.sql"
TABLES = (
    "uploads",
    "upload_parts",
    "cache_entities",
    "sync_state",
    "outbox",
    "derived_jobs",
    "watch_rules",
    "watch_ledger",
    "upload_claims",
    "catalog_addresses",
)


def _file(path: Path, *steps: str) -> Path:
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA_6.read_text())
        for step in steps:
            connection.execute(step)
    connection.close()
    return path


def _rows(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        found = {
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        counts = {
            t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in TABLES
            if t in found
        }
    connection.close()
    return counts


def _columns(path: Path, table: str) -> set[str]:
    with sqlite3.connect(path) as connection:
        names = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
    connection.close()
    return names


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    connection.close()
    return version


def test_a_schema_6_file_keeps_every_row_and_gains_the_time_zone_columns(tmp_path):
    path = _file(tmp_path / "lamefair.sqlite")
    before = _rows(path)
    assert set(before) == set(TABLES)
    assert all(before.values()), before

    sessions = open_local_db(path)

    assert _rows(path) == before
    assert "timezone" in _columns(path, "watch_rules")
    assert {"timezone", "timezone_reason", "output_sha256"} <= _columns(path, "derived_jobs")
    # The app reads what it had queued, as it had it.
    (rule,) = WatchStore(sessions).rules("cat-1")
    assert (rule.folder, rule.pair, rule.include, rule.timezone) == (
        "/data/microscope",
        "fei-titan",
        ("*.tif",),
        None,
    )
    job = DerivedQueue(sessions).get("f1")
    assert (job.state, job.server_valid, job.server_validator) == (
        "stored",
        True,
        "pynxtools 0.16.0",
    )
    uploads = UploadQueue(sessions)
    assert uploads.get("f2").state == "uploading"
    assert list(uploads.parts("f2", "up-1")) == [1]
    # An app from before Alembic (schema ≤ 6) reads user_version and refuses a newer file.
    assert _user_version(path) > local_db.LAST_HAND_VERSION


@pytest.mark.parametrize(
    ("version", "steps"),
    [
        (
            5,
            (
                "ALTER TABLE derived_jobs DROP COLUMN server_valid",
                "ALTER TABLE derived_jobs DROP COLUMN server_validator",
                "ALTER TABLE derived_jobs DROP COLUMN server_report",
            ),
        ),
        (
            4,
            (
                "ALTER TABLE derived_jobs DROP COLUMN server_valid",
                "ALTER TABLE derived_jobs DROP COLUMN server_validator",
                "ALTER TABLE derived_jobs DROP COLUMN server_report",
                "DROP TABLE catalog_addresses",
            ),
        ),
    ],
)
def test_files_of_schema_4_and_5_still_upgrade(tmp_path, version, steps):
    path = _file(tmp_path / "lamefair.sqlite", *steps, f"PRAGMA user_version={version}")
    before = _rows(path)

    sessions = open_local_db(path)

    after = _rows(path)
    assert {t: after[t] for t in before} == before
    assert after.get("catalog_addresses", 0) == before.get("catalog_addresses", 0)
    assert {"server_valid", "timezone", "output_sha256"} <= _columns(path, "derived_jobs")
    job = DerivedQueue(sessions).get("f1")
    assert (job.state, job.server_valid, job.verdict) == (
        "stored",
        None,
        "structure complete (structural check only)",
    )


def test_a_new_file_is_made_at_the_newest_schema_and_opens_again(tmp_path):
    path = tmp_path / "lamefair.sqlite"
    open_local_db(path)
    open_local_db(path)
    assert set(_rows(path)) == set(TABLES)
    assert "timezone" in _columns(path, "watch_rules")


@pytest.mark.parametrize(
    ("step", "named"),
    [
        ("UPDATE alembic_version SET version_num = '0042'", "schema revision 0042"),
        ("PRAGMA user_version=9", "schema 9"),
    ],
)
def test_a_file_from_a_newer_lamefair_is_refused_and_left_alone(tmp_path, step, named):
    path = tmp_path / "lamefair.sqlite"
    if "alembic_version" in step:
        open_local_db(path).kw["bind"].dispose()
        with sqlite3.connect(path) as connection:
            connection.execute(step)
        connection.close()
    else:
        _file(path, step)
    before = (_rows(path), _columns(path, "derived_jobs"), _user_version(path))

    with pytest.raises(LocalDatabaseError) as refused:
        open_local_db(path)

    assert f"written by a newer lamefair ({named}); update lamefair" in str(refused.value)
    assert (_rows(path), _columns(path, "derived_jobs"), _user_version(path)) == before


def test_the_tables_of_the_code_are_what_the_migrations_make(tmp_path):
    """A change of a table class without its revision would reach installed PCs unmigrated."""
    open_local_db(tmp_path / "lamefair.sqlite")
    engine = create_engine(f"sqlite:///{tmp_path / 'lamefair.sqlite'}")
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}),
            LocalBase.metadata,
        )
    engine.dispose()
    assert differences == []
    script = ScriptDirectory(str(local_db.MIGRATIONS_DIR))
    assert script.get_current_head() == local_db.HEAD_REVISION


def test_opening_a_file_at_the_newest_schema_does_not_load_alembic(tmp_path):
    """Every CLI command opens the database: Alembic's import (~0.4 s) only when migrating."""
    path = tmp_path / "lamefair.sqlite"
    open_local_db(path).kw["bind"].dispose()
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from lamefair_desktop.home.local_db import open_local_db\n"
        f"open_local_db(Path({str(path)!r}))\n"
        "print('alembic' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_several_threads_create_their_databases_at_once(tmp_path):
    """Two clients in one process (or a window's workers) may each open a new file at the same
    instant: every one ends at the head revision with its tables (Alembic's globals are shared)."""
    import threading

    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_one(index: int) -> None:
        barrier.wait()
        try:
            sessions = local_db.open_local_db(tmp_path / f"db{index}.sqlite")
            with sessions() as session:
                session.execute(text("SELECT count(*) FROM watch_rules")).scalar()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
