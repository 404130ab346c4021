"""JWT access tokens, presign expiry, migrations and the embedded mode: each on its own server."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from lamefair_catalog.database.engine import make_engine, migrate
from lamefair_catalog.database.models import Base
from lamefair_catalog.embedded.ports import free_port
from tests.support.catalog import Api, catalog_env, embedded_catalog, sha256_hex, start_catalog
from tests.support.components import stop_pid, wait_http
from tests.support.jwks_server import JwksIssuer


@pytest.fixture(scope="module")
def jwt_issuer():
    issuer = JwksIssuer()
    yield issuer
    issuer.close()


@pytest.fixture(scope="module")
def jwt_catalog(jwt_issuer, seaweed, tmp_path_factory):
    folder = tmp_path_factory.mktemp("jwt-catalog")
    server = start_catalog(
        f"sqlite:///{folder / 'c.sqlite'}",
        seaweed,
        jwt_issuer.url,
        folder,
        LAMEFAIR_OIDC_AUDIENCE="lamefair",
    )
    yield server
    server.stop()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _me(url: str, token: str) -> httpx.Response:
    return httpx.get(f"{url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_jwt_access_tokens_are_checked_against_the_jwks(jwt_issuer, jwt_catalog):
    good = _me(jwt_catalog.url, jwt_issuer.token())
    assert good.status_code == 200, good.text
    assert good.json()["roles"] == ["operator", "reader"]

    header, payload, signature = jwt_issuer.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["groups"] = ["lamepi"]  # try to promote oneself
    forged = _b64(json.dumps(claims).encode())
    refused = {
        "tampered": f"{header}.{forged}.{signature}",
        "expired": jwt_issuer.token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
        "not yet valid": jwt_issuer.token(nbf=int(time.time()) + 3600),
        "wrong audience": jwt_issuer.token(aud="someone-else"),
        "wrong issuer": jwt_issuer.token(iss="https://evil.invalid"),
        "no expiry": jwt_issuer.token(exp=None),
        "unsigned": _b64(json.dumps({"alg": "none"}).encode()) + f".{payload}.",
    }
    for name, token in refused.items():
        response = _me(jwt_catalog.url, token)
        assert response.status_code == 401, (name, response.text)
        assert token not in response.text


def test_jwts_shaped_like_id_tokens_are_refused(jwt_issuer, jwt_catalog):
    """An ID token is signed by the same keys as access tokens but must not open the API."""
    refused = {
        "nonce": jwt_issuer.token(nonce="n-1"),
        "at_hash": jwt_issuer.token(at_hash="x1YlZGQZ3Bf9hoV3Zx1Wzg"),
        "Keycloak ID token": jwt_issuer.token(typ="ID"),
    }
    for name, token in refused.items():
        response = _me(jwt_catalog.url, token)
        assert response.status_code == 401, (name, response.text)
        assert "not an access token" in response.json()["detail"], name
    accepted = {
        "RFC 9068 at+jwt": jwt_issuer.token(header_typ="at+jwt"),
        "Keycloak access token (older ones carry a nonce)": jwt_issuer.token(
            typ="Bearer", nonce="n-1"
        ),
        "Authentik-like access token": jwt_issuer.token(azp="lamefair-desktop"),
    }
    for name, token in accepted.items():
        assert _me(jwt_catalog.url, token).status_code == 200, name


def test_without_an_api_audience_a_jwt_for_the_desktop_app_is_an_id_token():
    from lamefair_catalog.settings import Settings
    from lamefair_catalog.web.auth import id_token_reason

    settings = Settings(oidc_client_id="lamefair-desktop")
    for_the_app = {"sub": "u", "aud": ["lamefair-desktop"]}
    assert "desktop app" in id_token_reason({"typ": "JWT"}, for_the_app, settings)
    assert id_token_reason({"typ": "at+jwt"}, for_the_app, settings) is None
    # Authentik addresses access tokens to the client: configure that as the API audience.
    authentik = settings.with_overrides(oidc_audience="lamefair-desktop")
    assert id_token_reason({"typ": "JWT"}, for_the_app, authentik) is None
    assert id_token_reason({"typ": "JWT"}, {**for_the_app, "at_hash": "x"}, authentik)


def test_jwt_key_rotation_is_followed(jwt_issuer, jwt_catalog):
    old_key = jwt_issuer.keys[-1]
    assert _me(jwt_catalog.url, jwt_issuer.token()).status_code == 200
    jwt_issuer.rotate()
    time.sleep(5.1)  # the server refetches keys at most every few seconds
    assert _me(jwt_catalog.url, jwt_issuer.token()).status_code == 200
    assert _me(jwt_catalog.url, jwt_issuer.token(key=old_key)).status_code == 401


def test_presigned_urls_expire_and_asking_again_just_works(seaweed, oidc_provider, tmp_path):
    from tests.support.catalog import ADMIN, oidc_login

    server = start_catalog(
        f"sqlite:///{tmp_path / 'c.sqlite'}",
        seaweed,
        oidc_provider.issuer,
        tmp_path,
        LAMEFAIR_PRESIGN_TTL="2",
        LAMEFAIR_MULTIPART_THRESHOLD=str(8 * 1024 * 1024),
    )
    try:
        api = Api(server.url, oidc_login(oidc_provider.issuer, *ADMIN)["access_token"])
        h = api.make_hierarchy()
        data = os.urandom(9 * 1024 * 1024)
        measurement = api.ok(
            api.post(
                "/api/measurements",
                {
                    "experiment": h["experiment"]["id"],
                    "files": [{"path": "m.bin", "size": len(data), "sha256": sha256_hex(data)}],
                },
            )
        )
        file_id = measurement["files"][0]["id"]
        plan = api.ok(api.post(f"/api/files/{file_id}/upload"))
        part = data[: plan["part_size"]]
        urls = api.ok(
            api.post(
                f"/api/files/{file_id}/parts",
                {"parts": [{"number": 1, "sha256": sha256_hex(part)}]},
            )
        )["parts"]
        time.sleep(3)
        expired = httpx.put(urls[0]["url"], content=part, headers=urls[0]["headers"], timeout=30)
        assert expired.status_code == 403
        assert "expired" in expired.text.lower()
        fresh = api.ok(
            api.post(
                f"/api/files/{file_id}/parts",
                {"parts": [{"number": 1, "sha256": sha256_hex(part)}]},
            )
        )["parts"][0]
        assert httpx.put(fresh["url"], content=part, headers=fresh["headers"]).status_code == 200
    finally:
        server.stop()


# The search's word indexes are PostgreSQL's alone (pg_trgm): on SQLite neither side has them.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrations_build_exactly_the_models_schema(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
    migrate(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migrations_on_postgresql_match_the_models(postgres_database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    # A schema of its own, so this check never touches the catalog server's tables.
    engine = create_engine(
        postgres_database.url, connect_args={"options": "-csearch_path=migration_check"}
    )
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS migration_check")
    migrate(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    engine.dispose()


def test_nxem_records_that_shared_one_object_are_told_apart_on_upgrade(tmp_path):
    """Before 0004, `img.tif` and `img.dm4` both derived `img.nxs`. The upgrade keeps the newest
    record on the object and sends the other back to be converted, under a name of its own."""
    import sqlite3

    from alembic import command

    from lamefair_catalog.database.engine import _alembic_config

    path = tmp_path / "old.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    command.upgrade(_alembic_config(engine), "0003")
    engine.dispose()
    with sqlite3.connect(path) as db:  # rows as the old catalog wrote them (no hierarchy needed)
        for file_id, raw in (("f1", "s/img.tif"), ("f2", "s/img.dm4")):
            db.execute(
                "INSERT INTO files (id, measurement_id, path, key, size, sha256, state, error)"
                " VALUES (?, 'm', ?, ?, 1, 'x', 'stored', '')",
                (file_id, raw, raw),
            )
        for derived_id, file_id, created in (
            ("d1", "f1", "2026-01-01"),
            ("d2", "f2", "2026-02-01"),
        ):
            db.execute(
                "INSERT INTO derived_files (id, source_file_id, bucket, key, size, sha256, valid,"
                " report, state, created_at, server_valid, server_validator, server_report)"
                " VALUES (?, ?, 'mirror', 's/img.nxs', 1, 'x', 1, 'valid', 'stored', ?, 1, 'v', '')",
                (derived_id, file_id, created),
            )
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    with sqlite3.connect(path) as db:
        rows = {
            row[0]: row[1:]
            for row in db.execute("SELECT id, key, state, server_valid, report FROM derived_files")
        }
    assert rows["d2"][:2] == ("s/img.nxs", "stored")  # the newest keeps the object
    moved_key, state, server_valid, report = rows["d1"]
    assert moved_key != "s/img.nxs"
    assert moved_key.startswith("s/img.tif")
    assert (state, server_valid) == ("pending", None)
    assert "convert the file again" in report


def test_serve_refuses_an_unmigrated_database_and_migrate_fixes_it(seaweed, tmp_path):
    env = catalog_env(f"sqlite:///{tmp_path / 'fresh.sqlite'}", seaweed, "http://127.0.0.1:1")
    exe = str(Path(sys.executable).parent / "lamefair-catalog")
    refused = subprocess.run(
        [exe, "serve", "--port", str(free_port())], env=env, capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert "lamefair-catalog migrate" in refused.stderr
    assert "Traceback" not in refused.stderr
    migrated = subprocess.run([exe, "migrate"], env=env, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    assert "schema revision" in migrated.stdout


def test_embedded_mode_runs_with_nothing_configured(tmp_path):
    with embedded_catalog(tmp_path) as catalog:
        url, data_dir, process = catalog.url, catalog.data_dir, catalog.process
        token_file = data_dir / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        info = json.loads((data_dir / "server.json").read_text())
        assert info["url"] == url
        assert info["pid"] == process.pid
        health = httpx.get(f"{url}/api/health").json()
        assert health["auth"]["mode"] == "embedded"
        assert health["storage"] == "ok"
        api = Api(url, token_file.read_text().strip())
        assert api.ok(api.get("/api/me"))["roles"][0] == "admin"
        h = api.make_hierarchy()
        assert h["proposal"]["raw_bucket"].startswith("lame-raw-")
        assert Api(url, "wrong").get("/api/me").status_code == 401
        second = subprocess.run(
            [catalog.exe, "serve", "--embedded", "--data-dir", str(data_dir)],
            env=catalog.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 3
        assert "already running" in second.stderr
    assert not (data_dir / "server.json").exists()
    weed_pids = subprocess.run(["pgrep", "-f", str(data_dir)], capture_output=True, text=True)
    assert weed_pids.stdout.strip() == "", "SeaweedFS must stop with the embedded server"


def test_two_embedded_servers_starting_at_once_on_one_folder(tmp_path):
    """Only one may own the data folder (and its SeaweedFS); the other says so and leaves."""
    data_dir = tmp_path / "shared"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    exe = str(Path(sys.executable).parent / "lamefair-catalog")
    processes = [
        subprocess.Popen(
            [exe, "serve", "--embedded", "--port", str(free_port()), "--data-dir", str(data_dir)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and all(p.poll() is None for p in processes):
            time.sleep(0.1)
        losers = [p for p in processes if p.poll() is not None]
        assert len(losers) == 1
        assert losers[0].returncode == 3
        assert "embedded catalog" in losers[0].stderr.read()
        (winner,) = [p for p in processes if p.poll() is None]
        info_path = data_dir / "server.json"
        deadline = time.monotonic() + 90
        while not info_path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        wait_http(json.loads(info_path.read_text())["url"] + "/api/health", winner, 60, "winner")
    finally:
        for process in processes:
            stop_pid(process, timeout=30)


def test_every_server_on_one_database_reports_the_same_catalog_id(
    postgres_database, seaweed, jwt_issuer, tmp_path
):
    """Behind a load balancer, or after a move, clients must see one catalog: its id lives in
    the database, not in a server process."""
    first = start_catalog(postgres_database.url, seaweed, jwt_issuer.url, tmp_path)
    second = start_catalog(postgres_database.url, seaweed, jwt_issuer.url, tmp_path)
    try:
        ids = {httpx.get(f"{s.url}/api/health").json()["catalog_id"] for s in (first, second)}
        first.restart()
        ids.add(httpx.get(f"{first.url}/api/health").json()["catalog_id"])
    finally:
        first.stop()
        second.stop()
    assert len(ids) == 1
    assert None not in ids
