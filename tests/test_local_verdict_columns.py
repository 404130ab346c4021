"""A local database from before the catalog judged derived files keeps its conversion queue and
learns the catalog's verdicts; `lamefair queue` prints the verdict the NXem column shows."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.transfer.derived import DerivedQueue

# derived_jobs as schema 5 made it (before the server_* columns).
SCHEMA_5_DERIVED_JOBS = """
CREATE TABLE derived_jobs (
    file_id VARCHAR(36) NOT NULL PRIMARY KEY, seq INTEGER NOT NULL, measurement_id VARCHAR(36)
    NOT NULL, server VARCHAR(500) NOT NULL, rel_path TEXT NOT NULL, pair VARCHAR(64) NOT NULL,
    state VARCHAR(16) NOT NULL, output TEXT NOT NULL, valid BOOLEAN, validator VARCHAR(16) NOT
    NULL, report TEXT NOT NULL, lacking TEXT NOT NULL, error TEXT NOT NULL, updated_at
    VARCHAR(40) NOT NULL)
"""


def test_a_schema_5_queue_is_upgraded_and_shows_the_catalogs_verdict(lamefair_home):
    path = lamefair_home / "data" / "lamefair.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute(SCHEMA_5_DERIVED_JOBS)
        connection.execute(
            "INSERT INTO derived_jobs VALUES ('f1', 1, 'm1', 'cat', 'grid/a.tif', 'generic', "
            "'stored', '/x/a.nxs', 1, 'lamefair', 'Checked by lamefair', '', '', 'now')"
        )
        connection.execute("PRAGMA user_version=5")
    queue = DerivedQueue(open_local_db(path))
    job = queue.get("f1")
    assert (job.server_valid, job.verdict) == (None, "structure complete (structural check only)")

    record = {
        "source_file": "f1",
        "server_valid": False,
        "server_validator": "pynxtools 0.16.0",
        "server_report": "Checked by the catalog ...: NOT valid NXem.\nERROR: fabrication",
        "server_checked_at": "2026-12-01T23:00:00Z",
    }
    assert queue.learn_server_verdict({**record, "server_checked_at": None}) is None
    job = queue.learn_server_verdict(record)
    assert job.verdict == "stored, NOT valid (FAIRmat, checked by the catalog)"
    assert job.judged_valid is False

    shown = subprocess.run(
        [sys.executable, "-m", "lamefair_desktop", "queue"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "NXem: grid/a.tif: stored, NOT valid (FAIRmat, checked by the catalog)" in shown.stdout
