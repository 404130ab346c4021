"""Queued work belongs to a catalog, not to the address it answered at: the local catalog comes
back on another port, a server moves, and uploads and watch rules carry on."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from lamefair_catalog.embedded.ports import free_port
from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.catalog.connection import connect
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from lamefair_desktop.watch.rules import WatchRule, WatchStore
from tests.support.catalog import Api
from tests.support.components import spawn_logged, stop_pid, wait_http

BIN = Path(sys.executable).parent
MiB = 1024 * 1024


def _env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    env["LAMEFAIR_HOME"] = str(tmp_path / "home")
    env.update(extra)
    return env


def _run(env: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "lamefair"), *args], capture_output=True, text=True, env=env, timeout=180
    )


def _embedded(env: dict, tmp_path: Path) -> tuple[subprocess.Popen, str, str]:
    """The user's local catalog, as the app starts it, on a port of its own choosing."""
    data_dir = Path(env["LAMEFAIR_HOME"]) / "data" / "catalog"
    port = free_port()
    process = spawn_logged(
        [str(BIN / "lamefair-catalog"), "serve", "--embedded", "--port", str(port)],
        tmp_path / "embedded.log",
        env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/api/health", process, 90, "embedded catalog")
    return process, url, (data_dir / "token").read_text().strip()


def _uploading(database: Path) -> bool:
    """At least one part of a multipart upload is recorded in the durable queue."""
    if not database.exists():
        return False
    with sqlite3.connect(database) as db:
        try:
            return bool(db.execute("select count(*) from upload_parts").fetchone()[0])
        except sqlite3.OperationalError:
            return False


def test_local_mode_resumes_uploads_and_keeps_watch_rules_across_a_new_port(tmp_path):
    env = _env(tmp_path)
    catalog, url, token = _embedded(env, tmp_path)
    try:
        experiment = Api(url, token).make_hierarchy()["experiment"]["id"]
        folder = tmp_path / "acq"
        folder.mkdir()
        big = folder / "big.raw"
        big.write_bytes(os.urandom(96 * MiB))  # multipart: 12 parts
        with open(tmp_path / "watch.log", "wb") as log:
            watcher = subprocess.Popen(
                [str(BIN / "lamefair"), "watch", str(folder), "--experiment", experiment]
                + ["--quiet", "0.5", "--polling", "--no-convert"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        database = tmp_path / "home" / "data" / "lamefair.sqlite"
        deadline = time.monotonic() + 120
        while not _uploading(database) and time.monotonic() < deadline:
            assert watcher.poll() is None, (tmp_path / "watch.log").read_text()
            time.sleep(0.02)
        watcher.kill()  # SIGKILL mid-upload: a crash, a power cut of the process
        watcher.wait(30)
        with sqlite3.connect(database) as db:
            assert db.execute("select state from uploads").fetchall() == [("uploading",)]
    finally:
        stop_pid(catalog, timeout=30)

    catalog, new_url, token = _embedded(env, tmp_path)
    try:
        assert new_url != url
        resumed = _run(env, "queue", "--resume")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        api = Api(new_url, token)
        (measurement,) = api.ok(api.get("/api/measurements", experiment=experiment))
        (stored,) = measurement["files"]
        assert stored["state"] == "stored"
        assert stored["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
        link = api.ok(api.get(f"/api/files/{stored['id']}/download"))["url"]
        assert hashlib.sha256(httpx.get(link, timeout=60).content).hexdigest() == stored["sha256"]

        listing = _run(env, "watch", "--list")
        assert listing.returncode == 0, listing.stderr
        assert f"{folder.resolve()}\t{experiment}" in listing.stdout
    finally:
        stop_pid(catalog, timeout=30)


def test_rows_filed_under_an_old_address_join_the_catalog_that_vouches_for_them(
    transfer_catalog, admin_token, experiment, catalog_proxy, tmp_path, monkeypatch
):
    """Rows written by an older lamefair, filed under the URL the catalog had then (here: a
    proxy, since closed), are re-filed under the catalog's id on connecting at its new address;
    rows of a catalog that cannot vouch for them are left alone."""
    sessions = open_local_db()
    queue = UploadQueue(sessions)
    old_address = catalog_proxy.endpoint
    source = tmp_path / "before-upgrade.bin"
    source.write_bytes(os.urandom(3 * MiB))
    with CatalogClient(old_address, admin_token) as old:  # catalog_id unknown: filed by URL
        measurement = Uploader(old, queue).register(experiment["id"], [source])
    (file,) = measurement["files"]
    rules = WatchStore(sessions)
    rules.save_rule(WatchRule(str(uuid.uuid4()), old_address, str(tmp_path), experiment["id"]))
    stranger = "http://127.0.0.1:9"
    rules.save_rule(WatchRule(str(uuid.uuid4()), stranger, str(tmp_path / "x"), str(uuid.uuid4())))
    catalog_proxy.close()  # the old address answers no more

    monkeypatch.setenv("LAMEFAIR_SERVER", transfer_catalog.url)
    monkeypatch.setenv("LAMEFAIR_TOKEN", admin_token)
    connection = connect()  # as the app and every CLI command do, with the user's database
    try:
        uploader = Uploader(connection.client, queue, UploadSettings(stable_seconds=0.05))
        assert uploader.run() == {"stored": 1}
        uploader.close()
        key = connection.client.catalog_key
        assert key == httpx.get(f"{transfer_catalog.url}/api/health").json()["catalog_id"]
        assert [r.folder for r in rules.rules(key)] == [str(tmp_path)]
        assert [r.server for r in rules.rules() if r.folder.endswith("x")] == [stranger]
    finally:
        connection.close()
    remote = CatalogClient(transfer_catalog.url, admin_token)
    assert remote.get_file(file["id"])["state"] == "stored"
    remote.close()
