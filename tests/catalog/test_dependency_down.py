"""A dependency that stops answering must not freeze the catalog: health says what is down within
seconds, routes that do not need it keep working, and it all recovers when the dependency is back.

Each test has its own catalog, and the storage test its own SeaweedFS: nothing shared is stopped.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import httpx
import pytest

from lamefair_catalog.seaweed import S3Credentials, SeaweedServer
from tests.support.catalog import ADMIN, Api, oidc_login, sha256_hex, start_catalog
from tests.support.components import create_postgres_database, drop_postgres_database
from tests.support.tcp_proxy import TcpProxy

MiB = 1024 * 1024


# One client for all requests: a client per request costs the test more time (TLS setup) than
# the server takes to answer, on a busy machine.
HTTP = httpx.Client(timeout=20, limits=httpx.Limits(max_connections=100))


def _timed_get(url: str, headers: dict | None = None) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = HTTP.get(url, headers=headers)
    return response, time.monotonic() - started


def _wait_healthy(url: str, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} was not healthy again within {within:.0f} s")


@pytest.fixture
def own_seaweed(tmp_path):
    server = SeaweedServer(tmp_path / "seaweed", S3Credentials.generate()).start()
    pid = server.process.pid
    yield server
    os.kill(pid, signal.SIGCONT)  # never leave it stopped, whatever the test did
    server.stop()


def test_stopped_storage_is_reported_and_other_routes_keep_answering(
    own_seaweed, oidc_provider, tmp_path
):
    catalog = start_catalog(
        f"sqlite:///{tmp_path / 'c.sqlite'}",
        own_seaweed,
        oidc_provider.issuer,
        tmp_path,
        LAMEFAIR_MULTIPART_THRESHOLD=str(1 * MiB),
    )
    try:
        api = Api(catalog.url, oidc_login(oidc_provider.issuer, *ADMIN)["access_token"])
        h = api.make_hierarchy()
        body = {
            "experiment": h["experiment"]["id"],
            "files": [{"path": "big.bin", "size": 2 * MiB, "sha256": sha256_hex(b"x")}],
        }
        file_id = api.ok(api.post("/api/measurements", body))["files"][0]["id"]
        auth = {"Authorization": f"Bearer {api.token}"}

        os.kill(own_seaweed.process.pid, signal.SIGSTOP)
        try:
            # Many health checks at once (monitoring, every open desktop) must neither hang nor
            # use up the workers that other routes need.
            with ThreadPoolExecutor(60) as pool:
                healths = [pool.submit(_timed_get, f"{catalog.url}/api/health") for _ in range(50)]
                time.sleep(0.5)
                for path in ("/api/me", "/api/projects"):
                    response, took = _timed_get(catalog.url + path, auth)
                    assert response.status_code == 200, (path, response.text)
                    assert took < 5, (path, took)
                for future in healths:
                    response, took = future.result()
                    assert response.status_code == 503, response.text
                    assert took < 5, took
                    assert response.json()["storage"] != "ok"
                    assert response.json()["database"] == "ok"

            started = time.monotonic()
            plan = api.post(f"/api/files/{file_id}/upload")  # a multipart plan asks storage
            assert plan.status_code == 503, plan.text
            assert "storage" in plan.json()["detail"].lower()
            assert time.monotonic() - started < 40
        finally:
            os.kill(own_seaweed.process.pid, signal.SIGCONT)
        _wait_healthy(catalog.url, within=20)
        assert api.post(f"/api/files/{file_id}/upload").status_code == 200
    finally:
        catalog.stop()


def test_a_database_that_stops_answering_is_named_and_recovers(seaweed, oidc_provider, tmp_path):
    database = create_postgres_database()
    target = urlparse(database.url.replace("postgresql+psycopg://", "http://", 1))
    proxy = TcpProxy(target.hostname, target.port or 5432)
    through_proxy = database.url.replace(
        f"@{target.netloc.split('@')[1]}/", f"@127.0.0.1:{proxy.port}/"
    )
    catalog = start_catalog(through_proxy, seaweed, oidc_provider.issuer, tmp_path)
    try:
        assert httpx.get(f"{catalog.url}/api/health", timeout=10).status_code == 200
        proxy.freeze()  # connections stay open, nothing answers: like a stopped server
        try:
            # The last good answer may be reused for a moment; then it must say, and fast.
            answers = []
            deadline = time.monotonic() + 10
            while len(answers) < 2 and time.monotonic() < deadline:
                response, took = _timed_get(f"{catalog.url}/api/health")
                assert took < 5, took
                if response.status_code != 200:
                    answers.append(response)
            assert len(answers) == 2, "health kept saying ok with the database stopped"
            for response in answers:  # the first check, and one while that one is still stuck
                assert response.status_code == 503, response.text
                assert response.json()["database"] != "ok"
                assert response.json()["storage"] == "ok"
        finally:
            proxy.thaw()
        _wait_healthy(catalog.url, within=20)
    finally:
        catalog.stop()
        proxy.close()
        drop_postgres_database(database)
