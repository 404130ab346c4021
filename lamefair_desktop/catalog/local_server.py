"""The embedded catalog for this user: find the running one, or start it (no Qt).

The desktop and the CLI use the same local server. Its data directory publishes `server.json`
(URL and PID) and `token`; when none is running, we start `lamefair-catalog serve --embedded` as a
child process and stop it when we are done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from lamefair_catalog.shared import set_aside_if_large
from lamefair_desktop.home import paths

CONSOLE_LOG_MAX_BYTES = 1024 * 1024  # start-up lines and crashes only
EMBEDDED_ALREADY_RUNNING = 3  # `lamefair-catalog serve --embedded`: another owns the folder

# Servers this process started, by PID, so we can stop and reap them (never someone else's).
_children: dict[int, subprocess.Popen] = {}


class LocalServerError(RuntimeError):
    """The local catalog could not be started; the message says why and where the log is."""


@dataclass(frozen=True)
class LocalServer:
    url: str
    token: str
    pid: int
    started_by_us: bool


def local_data_dir() -> Path:
    return paths.data_dir() / "catalog"


def _healthy(url: str) -> bool:
    """The catalog at `url` answers. 503 counts: it runs, only its database or storage is down,
    and starting a second server on the same folder would not help."""
    try:
        return httpx.get(f"{url}/api/health", timeout=5).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def find_running(data_dir: Path | None = None) -> LocalServer | None:
    data_dir = data_dir or local_data_dir()
    try:
        info = json.loads((data_dir / "server.json").read_text(encoding="utf-8"))
        token = (data_dir / "token").read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None
    if not _healthy(info.get("url", "")):
        return None
    return LocalServer(url=info["url"], token=token, pid=int(info["pid"]), started_by_us=False)


def catalog_command() -> list[str]:
    """How to run the catalog server: `lamefair catalog` in a frozen build (one executable serves
    both, see packaging/entry_lamefair.py), else the `lamefair-catalog` script beside this Python."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "catalog"]
    exe_dir = Path(sys.executable).parent
    for name in ("lamefair-catalog", "lamefair-catalog.exe"):
        if (exe_dir / name).is_file():
            return [str(exe_dir / name)]
    return [sys.executable, "-m", "lamefair_catalog.cli"]


def start(data_dir: Path | None = None, timeout: float = 90.0) -> LocalServer:
    """Reuse the running local catalog or start one; returns once it answers."""
    data_dir = data_dir or local_data_dir()
    running = find_running(data_dir)
    if running is not None:
        return running
    data_dir.mkdir(parents=True, exist_ok=True)
    # The catalog writes its records to a file it rotates itself; only what it prints before its
    # logging is set up (or a crash) lands in the console file, set aside at start.
    log_path = paths.log_dir() / "local-catalog.log"
    console_path = paths.log_dir() / "local-catalog-console.log"
    set_aside_if_large(console_path, CONSOLE_LOG_MAX_BYTES)
    with open(console_path, "ab") as log:
        process = subprocess.Popen(
            [
                *catalog_command(),
                *("serve", "--embedded", "--data-dir", str(data_dir)),
                *("--log-file", str(log_path)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if k != "LAMEFAIR_DATABASE_URL"},
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = find_running(data_dir)
        if process.poll() is not None:
            if process.returncode == EMBEDDED_ALREADY_RUNNING and found is None:
                # Another process (the GUI, another command) won the race to start it: wait
                # for that one to answer and use it.
                time.sleep(0.2)
                continue
            if found is not None:
                return found
            raise LocalServerError(
                f"The local catalog stopped while starting (exit code {process.returncode}). "
                f"See {console_path} and {log_path}."
            )
        if found is not None and found.pid == process.pid:
            _children[process.pid] = process
            return LocalServer(found.url, found.token, found.pid, started_by_us=True)
        time.sleep(0.2)
    process.terminate()
    raise LocalServerError(
        f"The local catalog did not answer within {timeout:.0f} s. See {log_path} and {console_path}."
    )


def stop(server: LocalServer, timeout: float = 20.0) -> None:
    """Stop the local catalog if this process started it (it stops its SeaweedFS itself)."""
    process = _children.pop(server.pid, None)
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
