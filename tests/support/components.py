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
from dataclasses import dataclass
from pathlib import Path

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
    import psycopg

    name = f"lamefair_test_{secrets.token_hex(6)}"
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
    port = free_port()
    process = spawn_logged(
        [str(script), "--host", "127.0.0.1", "--port", str(port), *extra_args],
        log_dir / "oidc-provider.log",
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{issuer}/.well-known/openid-configuration", process, 30, "oidc-provider-mock")
    except RuntimeError as exc:
        stop_pid(process)
        unavailable("OIDC provider", str(exc))
    return OidcProvider(issuer=issuer, process=process)


# --- corpus -----------------------------------------------------------------------------------


def corpus_dir() -> Path:
    override = os.environ.get("LAMEFAIR_CORPUS")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "corpus"
