"""A dependency that stops answering must not freeze the catalog: health says what is down within
seconds, requests that need it are refused at once (503) instead of each holding a worker thread,
routes that do not need it keep working, and it all recovers when the dependency is back.

One catalog for the module, on PostgreSQL behind a TCP proxy the test can freeze and on a
SeaweedFS of its own that the test can stop: nothing shared with other modules is ever stopped,
and each test leaves its dependency running and the catalog healthy. The catalog's timeouts and
cool-down are shortened through its settings so that an outage costs the suite seconds, not
minutes; what the tests prove does not depend on their length.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlparse

import httpx
import pytest

from lamefair_catalog.embedded.seaweed import S3Credentials, SeaweedError, SeaweedServer
from lamefair_catalog.web.health import FRESH_FOR
from tests.support import components
from tests.support.catalog import ADMIN, Api, CatalogProcess, oidc_login, sha256_hex, start_catalog
from tests.support.components import create_postgres_database, drop_postgres_database
from tests.support.tcp_proxy import TcpProxy

MiB = 1024 * 1024
COOL_DOWN = 2.0
S3_READ_TIMEOUT = 3.0
SHORT_TIMEOUTS = {
    "LAMEFAIR_S3_CONNECT_TIMEOUT": "1",
    "LAMEFAIR_S3_READ_TIMEOUT": str(S3_READ_TIMEOUT),
    "LAMEFAIR_DB_CONNECT_TIMEOUT": "2",
    "LAMEFAIR_OUTAGE_COOL_DOWN": str(COOL_DOWN),
}

# One client for all requests: a client per request costs the test more time (TLS setup) than
# the server takes to answer, on a busy machine.
HTTP = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=200))


@dataclass
class Stack:
    catalog: CatalogProcess
    seaweed: SeaweedServer
    proxy: TcpProxy
    api: Api

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api.token}"}


@pytest.fixture(scope="module")
def stack(oidc_provider, tmp_path_factory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("outage")
    seaweed = SeaweedServer(tmp / "seaweed", S3Credentials.generate())
    with contextlib.ExitStack() as cleanup:
        # weed takes seconds to start, mostly waiting on its own heartbeats: create the database
        # and its proxy meanwhile. The catalog starts once weed is ready: a weed that lost a port
        # comes back on new ones, and the catalog must be given those.
        try:
            seaweed.launch()
        except SeaweedError as exc:
            components.unavailable("SeaweedFS", str(exc))
        cleanup.callback(seaweed.stop)
        cleanup.callback(lambda: seaweed.process and os.kill(seaweed.process.pid, signal.SIGCONT))
        database = create_postgres_database()
        cleanup.callback(drop_postgres_database, database)
        target = urlparse(database.url.replace("postgresql+psycopg://", "http://", 1))
        proxy = TcpProxy(target.hostname, target.port or 5432)
        cleanup.callback(proxy.close)
        cleanup.callback(proxy.thaw)
        through_proxy = database.url.replace(
            f"@{target.netloc.split('@')[1]}/", f"@127.0.0.1:{proxy.port}/"
        )
        try:
            seaweed.wait_ready()
        except SeaweedError as exc:
            components.unavailable("SeaweedFS", str(exc))
        catalog = start_catalog(
            through_proxy,
            seaweed,
            oidc_provider.issuer,
            tmp,
            LAMEFAIR_MULTIPART_THRESHOLD=str(1 * MiB),
            **SHORT_TIMEOUTS,
        )
        cleanup.callback(catalog.stop)
        token = oidc_login(oidc_provider.issuer, *ADMIN)["access_token"]
        yield Stack(catalog, seaweed, proxy, Api(catalog.url, token, HTTP))


def _timed(method: str, url: str, headers: dict | None = None) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = HTTP.request(method, url, headers=headers)
    return response, time.monotonic() - started


def _wait_healthy(url: str, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if HTTP.get(f"{url}/api/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} was not healthy again within {within:.0f} s")


def test_stopped_storage_is_refused_at_once_and_other_routes_keep_answering(stack):
    api, url = stack.api, stack.catalog.url
    _wait_healthy(url, within=20)
    h = api.make_hierarchy()
    body = {  # files above the multipart threshold: each upload plan asks storage
        "experiment": h["experiment"]["id"],
        "files": [
            {"path": f"big-{i}.bin", "size": 2 * MiB, "sha256": sha256_hex(b"%d" % i)}
            for i in range(61)
        ],
    }
    file_ids = [f["id"] for f in api.ok(api.post("/api/measurements", body))["files"]]
    plan_urls = [f"{url}/api/files/{file_id}/upload" for file_id in file_ids]

    os.kill(stack.seaweed.process.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        # Sixty uploads start at once (more than the server's 40 worker threads), and health is
        # polled by monitoring and every open desktop. None of it may hold the workers that the
        # routes without storage need.
        with ThreadPoolExecutor(120) as pool:
            plans = [pool.submit(_timed, "POST", u, stack.auth) for u in plan_urls[:60]]
            healths = []
            time.sleep(0.3)
            while not all(p.done() for p in plans) or not healths:
                if not healths and time.monotonic() - stopped > FRESH_FOR:  # past the last "ok"
                    healths = [pool.submit(_timed, "GET", f"{url}/api/health") for _ in range(50)]
                for path in ("/api/projects", "/api/me"):
                    response, took = _timed("GET", url + path, stack.auth)
                    assert response.status_code == 200, (path, response.text)
                    assert took < 4, (path, took)
                time.sleep(0.3)
            for future in plans:
                response, took = future.result()
                assert response.status_code == 503, response.text
                assert "storage is not answering" in response.json()["detail"].lower()
                # At most the first few wait for S3's timeouts (2 attempts); the rest are refused.
                assert took < 4 * S3_READ_TIMEOUT, took
            for future in healths:
                response, took = future.result()
                assert response.status_code == 503, response.text
                assert took < 5, took
                assert response.json()["storage"] != "ok"
                assert response.json()["database"] == "ok"

        # Known to be down now: refused without waiting on storage at all.
        response, took = _timed("POST", plan_urls[60], stack.auth)
        assert response.status_code == 503, response.text
        assert response.json()["detail"] == (
            "Object storage is not answering; try again in a moment."
        )
        assert response.headers["retry-after"] == str(round(COOL_DOWN))
        assert took < 1, took
    finally:
        os.kill(stack.seaweed.process.pid, signal.SIGCONT)

    # Storage is back: after the cool-down an upload plan gets through again (the desktop
    # retries 503 with backoff, as this loop does), with no health check needed to notice.
    deadline = time.monotonic() + 20
    while (plan := api.post(f"/api/files/{file_ids[60]}/upload")).status_code == 503:
        assert time.monotonic() < deadline, plan.text
        time.sleep(0.5)
    assert plan.status_code == 200, plan.text
    assert plan.json()["upload_id"]
    _wait_healthy(url, within=20)


def test_a_database_that_stops_answering_is_named_and_recovers(stack):
    url = stack.catalog.url
    _wait_healthy(url, within=20)
    stack.proxy.freeze()  # connections stay open, nothing answers: like a stopped server
    try:
        # The last good answer may be reused for a moment; then it must say, and fast.
        answers = []
        deadline = time.monotonic() + 10
        while len(answers) < 2 and time.monotonic() < deadline:
            response, took = _timed("GET", f"{url}/api/health")
            assert took < 5, took
            if response.status_code != 200:
                answers.append(response)
        assert len(answers) == 2, "health kept saying ok with the database stopped"
        for response in answers:  # the first check, and one while that one is still stuck
            assert response.status_code == 503, response.text
            assert response.json()["database"] != "ok"
            assert response.json()["storage"] == "ok"

        # Requests that need the database are refused at once, naming it, instead of each
        # waiting on a connection that will not answer; those that need none still answer.
        with ThreadPoolExecutor(50) as pool:
            listings = [
                pool.submit(_timed, "GET", f"{url}/api/projects", stack.auth) for _ in range(50)
            ]
            response, took = _timed("GET", f"{url}/api/me", stack.auth)
            assert response.status_code == 200, response.text
            assert took < 2, took
            for future in listings:
                response, took = future.result()
                assert response.status_code == 503, response.text
                assert "database is not answering" in response.json()["detail"]
                assert took < 2, took
    finally:
        stack.proxy.thaw()
    _wait_healthy(url, within=20)
    response, _ = _timed("GET", f"{url}/api/projects", stack.auth)
    assert response.status_code == 200, response.text
