"""Run the real catalog server (`lamefair-catalog serve`) as a child process, and talk to it."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

from lamefair_catalog.database.engine import make_engine, migrate
from lamefair_catalog.embedded.ports import free_port
from lamefair_catalog.embedded.seaweed import SeaweedServer
from tests.support.components import (
    PortClash,
    exited_on_port_clash,
    log_size,
    retry_on_port_clash,
    spawn_logged,
    stop_pid,
    wait_http,
)
from tests.support.tls import LabCa

# Test users and the groups the identity provider gives them.
ADMIN = ("pi-alice", ["lamepi"])
OPERATOR = ("op-bob", ["lame-operators"])
MEMBER = ("carol", ["team-x"])
OUTSIDER = ("dave", [])


@dataclass
class CatalogProcess:
    url: str
    process: subprocess.Popen
    database_url: str
    env: dict[str, str]
    log_path: Path
    command: list[str] = field(default_factory=list)
    verify: ssl.SSLContext | bool = True  # trusting the CA of a catalog served over TLS

    def stop(self) -> None:
        stop_pid(self.process)

    def restart(self) -> None:
        """Start it again on the same port, as after a server reboot."""
        stop_pid(self.process)
        self.process = spawn_logged(self.command, self.log_path, self.env)
        wait_http(f"{self.url}/api/health", self.process, 60, "lamefair-catalog", self.verify)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def catalog_env(
    database_url: str, seaweed: SeaweedServer, issuer: str | None, **extra: str
) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_") or k == "LAMEFAIR_HOME"
    }
    env.update(
        LAMEFAIR_DATABASE_URL=database_url,
        LAMEFAIR_S3_ENDPOINT=seaweed.endpoint,
        LAMEFAIR_S3_ACCESS_KEY=seaweed.credentials.access_key,
        LAMEFAIR_S3_SECRET_KEY=seaweed.credentials.secret_key,
        LAMEFAIR_OIDC_CLIENT_ID="lamefair-desktop",
    )
    if issuer:
        env["LAMEFAIR_OIDC_ISSUER"] = issuer
    env.update(extra)
    return env


def start_catalog(
    database_url: str,
    seaweed: SeaweedServer,
    issuer: str | None,
    log_dir: Path,
    *,
    migrate_first: bool = True,
    tls: LabCa | None = None,
    **extra_env: str,
) -> CatalogProcess:
    """With `tls`, the catalog serves HTTPS with that CA's certificate for 127.0.0.1."""
    if migrate_first:
        engine = make_engine(database_url)
        migrate(engine)
        engine.dispose()
    env = catalog_env(database_url, seaweed, issuer, **extra_env)
    verify = tls.context() if tls is not None else True

    def start() -> CatalogProcess:
        port = free_port()
        log_path = log_dir / f"catalog-{port}.log"
        command = [
            str(Path(sys.executable).parent / "lamefair-catalog"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        if tls is not None:
            command += ["--ssl-certfile", str(tls.cert_file), "--ssl-keyfile", str(tls.key_file)]
        since = log_size(log_path)
        process = spawn_logged(command, log_path, env)
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        try:
            wait_http(f"{url}/api/health", process, 60, "lamefair-catalog", verify)
        except RuntimeError as exc:
            stop_pid(process)
            if exited_on_port_clash(process, log_path, since):
                raise PortClash(str(exc)) from None
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{exc}\n{tail}") from None
        return CatalogProcess(url, process, database_url, env, log_path, command, verify)

    return retry_on_port_clash(start, "lamefair-catalog")


# --- signing in at oidc-provider-mock ---------------------------------------------------------


@dataclass
class EmbeddedCatalog:
    url: str
    data_dir: Path
    process: subprocess.Popen
    exe: str  # `lamefair-catalog` of this venv
    env: dict  # the environment it runs with: nothing configured


@contextmanager
def embedded_catalog(folder: Path) -> Iterator[EmbeddedCatalog]:
    """`lamefair-catalog serve --embedded` with nothing configured (no LAMEFAIR_* variable), its
    data in `folder/embedded`; stopped by PID at the end."""
    data_dir = folder / "embedded"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    exe = str(Path(sys.executable).parent / "lamefair-catalog")
    log_path = folder / "embedded.log"

    def start() -> tuple[str, subprocess.Popen]:
        # (SeaweedFS's own ports are picked again inside serve when one was taken.)
        port, since = free_port(), log_size(log_path)
        command = [exe, "serve", "--embedded", "--port", str(port), "--data-dir", str(data_dir)]
        process = spawn_logged(command, log_path, env)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{url}/api/health", process, 90, "embedded catalog")
        except RuntimeError as exc:
            stop_pid(process, timeout=30)
            if exited_on_port_clash(process, log_path, since):
                raise PortClash(str(exc)) from None
            raise
        return url, process

    url, process = retry_on_port_clash(start, "embedded catalog")
    try:
        yield EmbeddedCatalog(url, data_dir, process, exe, env)
    finally:
        stop_pid(process, timeout=30)


def oidc_login(issuer: str, subject: str, groups: list[str], client_id: str = "lamefair-desktop"):
    """Authorization Code + PKCE against oidc-provider-mock, the test playing the browser.

    Returns the token response (access_token, refresh_token, id_token, expires_in).
    """
    claims = {"sub": subject, "preferred_username": subject, "groups": groups}
    httpx.put(f"{issuer}/users/{subject}", json=claims, timeout=5).raise_for_status()
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    redirect_uri = "http://127.0.0.1:1/callback"
    state = secrets.token_urlsafe(8)
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "openid profile email groups offline_access",
        "state": state,
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    response = httpx.post(
        f"{issuer}/oauth2/authorize", params=params, data={"sub": subject}, timeout=10
    )
    assert response.status_code in (302, 303), response.text
    query = parse_qs(urlparse(response.headers["location"]).query)
    assert query["state"] == [state]
    token = httpx.post(
        f"{issuer}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        # The mock accepts only client_secret_basic (any secret); PKCE is sent all the same.
        auth=(client_id, "test-secret"),
        timeout=10,
    )
    token.raise_for_status()
    return token.json()


# --- a small API client for tests -------------------------------------------------------------


@dataclass
class Api:
    base_url: str
    token: str | None = None
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **params) -> httpx.Response:
        return self.http.get(self.base_url + path, params=params, headers=self._headers())

    def post(self, path: str, json: object = None) -> httpx.Response:
        return self.http.post(self.base_url + path, json=json, headers=self._headers())

    def patch(self, path: str, json: object) -> httpx.Response:
        return self.http.patch(self.base_url + path, json=json, headers=self._headers())

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(self.base_url + path, headers=self._headers())

    def ok(self, response: httpx.Response, status: int | tuple[int, ...] = (200, 201)) -> dict:
        statuses = (status,) if isinstance(status, int) else status
        assert response.status_code in statuses, (response.status_code, response.text)
        return response.json()

    # shortcuts for building a hierarchy
    def make_project(self, name: str | None = None) -> dict:
        name = name or f"Project {uuid.uuid4().hex[:8]}"
        return self.ok(self.post("/api/projects", {"name": name}), 201)

    def make_proposal(self, project: dict, number: str | None = None, **fields) -> dict:
        body = {"project": project["id"], "number": number or uuid.uuid4().hex[:6], **fields}
        return self.ok(self.post("/api/proposals", body), 201)

    def make_sample(self, proposal: dict, name: str = "Fe3O4 nanoparticles", **fields) -> dict:
        body = {
            "proposal": proposal["id"],
            "name": name,
            "identifier": "S-001",
            "preparation_date": "2026-10-01",
            "atom_types": ["Fe", "O"],
            "physical_form": "powder",
            **fields,
        }
        return self.ok(self.post("/api/samples", body), 201)

    def make_experiment(self, sample: dict, name: str = "TEM session 1", **fields) -> dict:
        body = {
            "sample": sample["id"],
            "name": name,
            "start_time": "2026-11-20T09:00:00Z",
            **fields,
        }
        return self.ok(self.post("/api/experiments", body), 201)

    def make_hierarchy(self) -> dict:
        project = self.make_project()
        proposal = self.make_proposal(project, members=["team-x"])
        sample = self.make_sample(proposal)
        experiment = self.make_experiment(sample)
        return {
            "project": project,
            "proposal": proposal,
            "sample": sample,
            "experiment": experiment,
        }


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
