"""The log files stay bounded on a PC that runs for months, and two processes writing the same
file (a watch service and an operator's command) neither lose nor mangle lines."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from lamefair_desktop.home import log_files, paths

LIMIT = 4_000
WRITER = """
import logging, sys
from lamefair_desktop.home import log_files
log_files.MAX_BYTES, log_files.BACKUPS = {limit}, 50
log_files.log_to_file("shared.log")
for number in range(600):
    logging.getLogger("writer").info("writer %s line %04d %s", sys.argv[1], number, "x" * 40)
"""


def _files(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f"{name}*"))


def test_a_full_log_rotates_and_keeps_only_the_newest_backups(lamefair_home, monkeypatch):
    monkeypatch.setattr(log_files, "MAX_BYTES", LIMIT)
    monkeypatch.setattr(log_files, "BACKUPS", 3)
    path = log_files.log_to_file("engines.log")
    handler = next(
        h for h in logging.getLogger().handlers if getattr(h, "baseFilename", "") == str(path)
    )
    try:
        for number in range(1_000):  # ~80 kB: twenty times the limit
            logging.getLogger("lamefair.test").info("event %04d %s", number, "y" * 20)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    folder = paths.log_dir()
    assert [p.name for p in _files(folder, "engines.log")] == [
        "engines.log",
        "engines.log.1",
        "engines.log.2",
        "engines.log.3",
    ]
    # Rotated at about the limit (the record that crosses it may still go in the old file).
    assert all(p.stat().st_size <= LIMIT + 100 for p in _files(folder, "engines.log"))
    assert "event 0999" in path.read_text(encoding="utf-8")  # the newest is in the current file
    oldest_kept = (folder / "engines.log.3").read_text(encoding="utf-8")
    assert "event 0000" not in oldest_kept  # the oldest records went with the dropped files


def test_two_processes_share_a_log_without_losing_or_mangling_lines(lamefair_home):
    env = {**os.environ, "LAMEFAIR_HOME": str(lamefair_home)}
    code = WRITER.format(limit=LIMIT)
    writers = [subprocess.Popen([sys.executable, "-c", code, tag], env=env) for tag in ("A", "B")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    files = _files(paths.log_dir(), "shared.log")
    lines = [line for p in files for line in p.read_text(encoding="utf-8").splitlines()]
    pattern = re.compile(r".* INFO writer writer ([AB]) line (\d{4}) x{40}$")
    found = sorted(pattern.match(line).groups() for line in lines)  # every line whole
    assert found == sorted((tag, f"{n:04d}") for tag in "AB" for n in range(600))
    # Rotated once per filling: every old file is full, none was rotated again by the other
    # process while nearly empty.
    backups = [p for p in files if p.name != "shared.log"]
    assert all(p.stat().st_size > LIMIT - 200 for p in backups), [p.stat().st_size for p in backups]


def test_the_local_catalog_logs_to_a_file_it_rotates_and_its_console_is_set_aside(lamefair_home):
    """The embedded catalog runs for months: its records go to `local-catalog.log` through a
    rotating handler (not a redirected stream that grows forever), and the console file that
    catches what it prints before logging is set up is set aside at start when large."""
    import httpx

    from lamefair_desktop.catalog import local_server

    console = paths.log_dir() / "local-catalog-console.log"
    console.write_bytes(b"old start-up lines\n" * 100_000)  # 1.9 MB: past the limit
    server = local_server.start()
    try:
        httpx.get(f"{server.url}/api/health", timeout=30).raise_for_status()
        records = (paths.log_dir() / "local-catalog.log").read_text()
        assert "GET /api/health" in records
        assert console.with_name(console.name + ".1").stat().st_size > 1_000_000
        assert console.stat().st_size < 10_000
    finally:
        local_server.stop(server)
