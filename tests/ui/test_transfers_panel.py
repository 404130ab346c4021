"""The transfers panel follows a real upload to the local catalog and survives a restart."""

from __future__ import annotations

import os

import httpx
import pytest

from lamefair_desktop import local_server
from lamefair_desktop.catalog_client import CatalogClient
from lamefair_desktop.local_db import open_local_db
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from lamefair_desktop.ui.transfers_panel import TransfersPanel
from lamefair_desktop.workers.transfer_worker import TransferWorker


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


def test_rows_follow_the_upload_and_come_back_after_a_restart(qtbot, local, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "small.tif").write_bytes(os.urandom(3000))
    (folder / "large.tif").write_bytes(os.urandom(12 * 1024 * 1024))
    client = CatalogClient(local.url, local.token)
    queue = UploadQueue(open_local_db())
    uploader = Uploader(client, queue, UploadSettings(stable_seconds=0.05))
    uploader.register(_experiment(local), [folder])

    panel = TransfersPanel()
    qtbot.addWidget(panel)
    worker = TransferWorker(uploader)
    with qtbot.waitSignal(panel.loaded, timeout=10_000) as loaded:
        panel.attach(worker, queue)
    assert loaded.args[0] == 2
    assert {r.state for r in panel.model.rows} == {"queued"}
    with qtbot.waitSignal(worker.finished, timeout=60_000) as finished:
        worker.start()
    assert finished.args[0] == {"stored": 2}
    qtbot.waitUntil(lambda: {r.state for r in panel.model.rows} == {"stored"}, timeout=10_000)
    large = next(r for r in panel.model.rows if r.path.endswith("large.tif"))
    row = panel.model.rows.index(large)
    assert panel.model.index(row, 2).data() == "100 %"
    assert panel.model.index(row, 1).data() == "12.0 MiB"
    assert panel.total.value() == 100

    # The app restarts: a new panel reads the durable queue.
    again = TransfersPanel()
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.loaded, timeout=10_000):
        again.attach(TransferWorker(Uploader(client, queue)), queue)
    assert sorted(r.path for r in again.model.rows) == ["run/large.tif", "run/small.tif"]
    assert {r.state for r in again.model.rows} == {"stored"}
    client.close()
