"""Real components for the tests, each on 127.0.0.1 on free ports, stopped by PID.

Where a component cannot be had on a developer's machine its tests skip with a reason naming it;
under CI=true that is a failure instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import secrets
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from lamefair_catalog.embedded.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(component: str, reason: str) -> None:
    """Skip (developer machine) or fail (CI) because a real component is missing."""
    message = f"{component} unavailable: {reason}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: real components must not skip)", pytrace=False)
    pytest.skip(message)


def worker_id() -> str:
    """pytest-xdist's name for this worker (gw0, gw1...), "main" when the run is serial."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def venv_script(name: str) -> Path | None:
    path = Path(sys.executable).parent / name
    return path if path.is_file() else None


def stop_pid(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def spawn_logged(command: list[str], log_path: Path, env: dict | None = None) -> subprocess.Popen:
    """Start a child whose output goes to `log_path` (appended), with no stdin."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


# --- free ports taken before the child binds them ----------------------------------------------
#
# A port is free when picked and taken by the child a second later. Several pytest-xdist workers
# (and the children they start) pick ports at the same time, so now and then two pick the same one
# and the second child exits on "address already in use". That is no failure of what is tested:
# its start is retried on newly picked ports.

T = TypeVar("T")
PORT_ATTEMPTS = 4


class PortClash(RuntimeError):
    """A child exited because a port picked for it was taken before it could bind."""


def log_size(path: Path) -> int:
    """Where a log appended to by the next start begins (its size now)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def exited_on_port_clash(process: subprocess.Popen, log_path: Path, since: int) -> bool:
    """The child has exited, and what it logged from byte `since` on says a bind failed."""
    return process.poll() is not None and port_clash_logged(log_path, since)


def port_clash_logged(log_path: Path, since: int) -> bool:
    try:
        with open(log_path, "rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
    except OSError:
        return False
    return "address already in use" in text.lower()


def retry_on_port_clash(start: Callable[[], T], what: str) -> T:
    """`start()` again (it picks new ports each time) while it raises PortClash."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        try:
            return start()
        except PortClash as exc:
            if attempt == PORT_ATTEMPTS:
                raise RuntimeError(f"{what}: its ports were taken {attempt} times: {exc}") from None
            print(f"{what}: a port was taken, starting again on others ({exc})", file=sys.stderr)
    raise AssertionError("unreachable")


def wait_http(
    url: str,
    process: subprocess.Popen,
    timeout: float,
    what: str,
    verify: ssl.SSLContext | bool = True,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting")
        try:
            if httpx.get(url, timeout=1.0, verify=verify).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer at {url} within {timeout:.0f} s")


# --- PostgreSQL -------------------------------------------------------------------------------


def postgres_admin_url() -> str:
    return os.environ.get("LAMEFAIR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/")


@dataclass(frozen=True)
class PostgresDatabase:
    name: str
    url: str  # SQLAlchemy URL with the psycopg 3 driver

    @property
    def libpq_url(self) -> str:
        return self.url.replace("postgresql+psycopg://", "postgresql://", 1)


def _admin_conninfo() -> str:
    base = postgres_admin_url().rstrip("/")
    # Connect to the maintenance database unless the URL names one.
    return base if base.count("/") > 2 else base + "/postgres"


def create_postgres_database() -> PostgresDatabase:
    """Named after the xdist worker too, so that a leftover says which worker made it."""
    import psycopg

    name = f"lamefair_test_{worker_id()}_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(_admin_conninfo(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        unavailable("PostgreSQL", f"cannot connect to {postgres_admin_url()}: {exc}")
    base = postgres_admin_url().rstrip("/")
    if base.count("/") > 2:
        base = base.rsplit("/", 1)[0]
    url = base.replace("postgresql://", "postgresql+psycopg://", 1) + "/" + name
    return PostgresDatabase(name=name, url=url)


def drop_postgres_database(database: PostgresDatabase) -> None:
    import psycopg

    with psycopg.connect(_admin_conninfo(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


# --- OIDC provider ----------------------------------------------------------------------------


@dataclass
class OidcProvider:
    issuer: str
    process: subprocess.Popen

    def set_user_claims(self, subject: str, claims: dict) -> None:
        """oidc-provider-mock's own API: `PUT /users/<sub>` sets the claims it will issue."""
        response = httpx.put(f"{self.issuer}/users/{subject}", json=claims, timeout=5)
        response.raise_for_status()


def start_oidc_provider(log_dir: Path, *extra_args: str) -> OidcProvider:
    script = venv_script("oidc-provider-mock")
    if script is None:
        unavailable("OIDC provider", "oidc-provider-mock is not installed (test extra)")
    log_path = log_dir / "oidc-provider.log"

    def start() -> OidcProvider:
        port, since = free_port(), log_size(log_path)
        process = spawn_logged(
            [str(script), "--host", "127.0.0.1", "--port", str(port), *extra_args], log_path
        )
        issuer = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{issuer}/.well-known/openid-configuration", process, 30, "oidc-provider")
        except RuntimeError as exc:
            stop_pid(process)
            if exited_on_port_clash(process, log_path, since):
                raise PortClash(str(exc)) from None
            raise
        return OidcProvider(issuer=issuer, process=process)

    try:
        return retry_on_port_clash(start, "oidc-provider-mock")
    except RuntimeError as exc:
        unavailable("OIDC provider", str(exc))
        raise


# --- corpus -----------------------------------------------------------------------------------


def corpus_dir() -> Path:
    override = os.environ.get("LAMEFAIR_CORPUS")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "corpus"
