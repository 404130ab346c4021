"""Embedded mode: the catalog for one person on one machine, with nothing to configure.

Binds 127.0.0.1 only; SQLite and a SeaweedFS child process under one data directory; a random
access token created on first start (DIR/token, mode 0600) that callers send as Bearer; the local
user is admin. `DIR/server.json` tells local clients (the desktop, the CLI) where the server is.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from lamefair_catalog.embedded.seaweed import S3Credentials, SeaweedServer
from lamefair_catalog.settings import Settings


def default_data_dir() -> Path:
    """Same place as the desktop's data folder (`LAMEFAIR_HOME` honoured), sub-folder `catalog`."""
    home = os.environ.get("LAMEFAIR_HOME")
    base = Path(home).expanduser() / "data" if home else platformdirs.user_data_path("lamefair")
    return base / "catalog"


def _write_private(path: Path, text: str) -> None:
    """Owner-only, and whole or not at all: a client reading server.json while it is written
    must never see it empty (it did: a test read it between create and write)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)


def _read_or_create(path: Path, make: callable) -> str:
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    value = make()
    _write_private(path, value)
    return value


@dataclass(frozen=True)
class LocalServerInfo:
    url: str
    pid: int
    token_path: str


def server_info_path(data_dir: Path) -> Path:
    return data_dir / "server.json"


def read_server_info(data_dir: Path) -> LocalServerInfo | None:
    try:
        raw = json.loads(server_info_path(data_dir).read_text(encoding="utf-8"))
        return LocalServerInfo(url=raw["url"], pid=int(raw["pid"]), token_path=raw["token_path"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class AlreadyRunning(RuntimeError):
    """Another embedded catalog holds this data directory."""


def _lock(data_dir: Path):
    """An exclusive lock on the data directory for the server's lifetime (released by the OS
    when the process dies, so a crash never leaves it stuck). Two servers starting at the same
    moment cannot both pass: the loser gets AlreadyRunning."""
    handle = open(data_dir / "lock", "a+")  # noqa: SIM115 - held until the process ends
    try:
        import fcntl
    except ImportError:  # Windows: server.json and the PID check are the only guard
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise AlreadyRunning(f"Another embedded catalog is using {data_dir}.") from None
    return handle


class EmbeddedStack:
    """Prepares the data directory, starts SeaweedFS, and gives the server its Settings."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        self._lock = _lock(data_dir)
        self.token = _read_or_create(data_dir / "token", lambda: secrets.token_urlsafe(32))
        credentials_raw = _read_or_create(
            data_dir / "s3-credentials.json",
            lambda: json.dumps(S3Credentials.generate().__dict__),
        )
        self.credentials = S3Credentials(**json.loads(credentials_raw))
        self.seaweed = SeaweedServer(data_dir / "seaweed", self.credentials)

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'catalog.sqlite'}"

    def launch(self) -> None:
        """Start SeaweedFS without waiting for it, so the server can load and migrate meanwhile."""
        self.seaweed.launch()

    def wait_ready(self) -> None:
        self.seaweed.wait_ready()

    def settings(self) -> Settings:
        return Settings(
            database_url=self.database_url,
            s3_endpoint=self.seaweed.endpoint,
            s3_access_key=self.credentials.access_key,
            s3_secret_key=self.credentials.secret_key,
            local_token=self.token,
        )

    def publish(self, url: str) -> None:
        info = {"url": url, "pid": os.getpid(), "token_path": str(self.data_dir / "token")}
        _write_private(server_info_path(self.data_dir), json.dumps(info))

    def stop(self) -> None:
        info = read_server_info(self.data_dir)
        if info is not None and info.pid == os.getpid():
            server_info_path(self.data_dir).unlink(missing_ok=True)
        self.seaweed.stop()
        self._lock.close()
