"""The transfers panel follows a real upload to the local catalog and survives a restart."""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from lamefair_desktop.catalog import local_server
from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.engines.process import EngineTarget
from lamefair_desktop.home.local_db import default_path, open_local_db
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from lamefair_desktop.ui.panels.transfers_panel import TransfersPanel
from lamefair_desktop.workers.engine_worker import EngineWorker


@pytest.fixture
def local():
    server = local_server.start()
    yield server
    local_server.stop(server)


def _experiment(server) -> str:
    http = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=60
    )
    project = http.post("/api/projects", json={"name": "Panel test"}).json()
    proposal = http.post("/api/proposals", json={"project": project["id"], "number": "1"}).json()
    sample = http.post("/api/samples", json={"proposal": proposal["id"], "name": "s"}).json()
    return http.post("/api/experiments", json={"sample": sample["id"], "name": "e"}).json()["id"]


def _engines(local) -> EngineWorker:
    target = EngineTarget(
        server_url=local.url,
        database=str(default_path()),
        token=local.token,
        oidc=False,
        settings=Settings(),
    )
    return EngineWorker(target)


def test_rows_follow_the_upload_and_come_back_after_a_restart(qtbot, local, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "small.tif").write_bytes(os.urandom(3000))
    (folder / "large.tif").write_bytes(os.urandom(12 * 1024 * 1024))
    client = CatalogClient(local.url, local.token)
    queue = UploadQueue(open_local_db())
    uploader = Uploader(client, queue, UploadSettings(stable_seconds=0.05))
    uploader.register(_experiment(local), [folder])
    uploader.close()

    panel = TransfersPanel()
    qtbot.addWidget(panel)
    engines = _engines(local)
    with qtbot.waitSignal(panel.loaded, timeout=10_000) as loaded:
        panel.attach(engines, queue)
    assert loaded.args[0] == 2
    assert {r.state for r in panel.model.rows} == {"queued"}
    # Paused from the panel before the engines run: the row says so, and the file waits.
    large = next(r for r in panel.model.rows if r.path.endswith("large.tif"))
    panel.table.selectRow(panel.model.rows.index(large))
    panel.pause_button.click()
    with qtbot.waitSignal(engines.ready, timeout=60_000):
        engines.start()
    qtbot.waitUntil(
        lambda: (
            {r.path: r.state for r in panel.model.rows}
            == {"run/small.tif": "stored", "run/large.tif": "paused"}
        ),
        timeout=60_000,
    )
    with qtbot.waitSignal(
        engines.uploads_idle,
        timeout=60_000,
        check_params_cb=lambda counts: counts == {"stored": 2},
    ):
        panel.resume_button.click()
    qtbot.waitUntil(lambda: {r.state for r in panel.model.rows} == {"stored"}, timeout=10_000)
    row = panel.model.rows.index(large)
    assert panel.model.index(row, 2).data() == "100 %"
    assert panel.model.index(row, 1).data() == "12.0 MiB"
    assert panel.total.value() == 100
    engines.stop()

    # The app restarts: a new panel reads the durable queue.
    again = TransfersPanel()
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.loaded, timeout=10_000):
        again.attach(_engines(local), queue)
    assert sorted(r.path for r in again.model.rows) == ["run/large.tif", "run/small.tif"]
    assert {r.state for r in again.model.rows} == {"stored"}
    client.close()


def test_a_killed_engine_process_is_restarted_and_the_upload_completes(qtbot, local, tmp_path):
    """The engines' process dies mid-upload (kill -9, an out-of-memory kill): the window says so,
    starts it again, and the file resumes from the parts S3 already has."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "big.raw").write_bytes(os.urandom(160 * 1024 * 1024))
    client = CatalogClient(local.url, local.token)
    queue = UploadQueue(open_local_db())
    uploader = Uploader(client, queue, UploadSettings(stable_seconds=0.05))
    measurement = uploader.register(_experiment(local), [folder])
    uploader.close()
    panel = TransfersPanel()
    qtbot.addWidget(panel)
    engines = _engines(local)
    panel.attach(engines, queue)
    messages = []
    engines.failed.connect(messages.append)
    with qtbot.waitSignal(engines.ready, timeout=60_000) as first:
        engines.start()
    qtbot.waitUntil(
        lambda: any(r.state == "uploading" and r.done > 0 for r in panel.model.rows),
        timeout=60_000,
    )
    with qtbot.waitSignal(engines.ready, timeout=60_000) as second:
        os.kill(first.args[0], signal.SIGKILL)
    assert second.args[0] != first.args[0]
    assert "stopped unexpectedly" in messages[0]
    qtbot.waitUntil(lambda: [r.state for r in panel.model.rows] == ["stored"], timeout=120_000)
    remote = client.get_entity("measurements", measurement["id"])["files"]
    assert [f["state"] for f in remote] == ["stored"]
    engines.stop()
    client.close()
