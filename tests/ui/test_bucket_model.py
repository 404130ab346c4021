"""The bucket listing loads a page at a time as the view asks for more, and sorts what it has with
folders first, against a real bucket of the local stack."""

from __future__ import annotations

import httpx
import pytest
from PySide6.QtCore import QModelIndex, Qt

from lamefair_desktop.catalog import local_server
from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from lamefair_desktop.ui.models.bucket_model import ENTRY_ROLE, BucketModel, BucketSortModel


@pytest.fixture
def local():
    server = local_server.start()
    yield server
    local_server.stop(server)


def test_pages_load_on_demand_and_sort_folders_first(qtbot, local, tmp_path):
    http = httpx.Client(
        base_url=local.url, headers={"Authorization": f"Bearer {local.token}"}, timeout=60
    )  # creating a proposal makes its buckets: seconds on a loaded machine
    project = http.post("/api/projects", json={"name": "Paging"}).json()
    proposal = http.post("/api/proposals", json={"project": project["id"], "number": "1"}).json()
    sample = http.post("/api/samples", json={"proposal": proposal["id"], "name": "s"}).json()
    experiment = http.post("/api/experiments", json={"sample": sample["id"], "name": "e"}).json()
    folder = tmp_path / "run"
    (folder / "sub").mkdir(parents=True)
    for index in range(120):
        (folder / f"f{index:03d}.dat").write_bytes(bytes([index]) * (index + 1))
    (folder / "sub" / "inner.dat").write_bytes(b"x")
    client = CatalogClient(local.url, local.token)
    uploader = Uploader(client, UploadQueue(open_local_db()), UploadSettings(stable_seconds=0.05))
    measurement = uploader.register(experiment["id"], [folder])
    assert uploader.run() == {"stored": 121}
    prefix = measurement["files"][0]["key"].split("/run/")[0] + "/run/"

    model = BucketModel(page_size=50)
    sorted_model = BucketSortModel()
    sorted_model.setSourceModel(model)
    with qtbot.waitSignal(model.page_loaded, timeout=30_000) as first:
        model.open(client, proposal["raw_bucket"], prefix)
    assert first.args[0] <= 51  # one page (plus the folder), not the whole prefix
    assert model.canFetchMore()
    while model.canFetchMore():
        with qtbot.waitSignal(model.page_loaded, timeout=30_000):
            sorted_model.fetchMore(QModelIndex())  # what the view does at the end of the list
    names = [model.rows[r].name for r in range(model.rowCount())]
    assert sorted(n for n in names if n != "sub") == [f"f{i:03d}.dat" for i in range(120)]
    assert names.count("sub") == 1

    sorted_model.sort(1, Qt.SortOrder.DescendingOrder)  # by size, largest first, folders on top
    assert sorted_model.index(0, 0).data(ENTRY_ROLE).name == "sub"
    assert sorted_model.index(1, 0).data(ENTRY_ROLE).name == "f119.dat"
    assert sorted_model.index(120, 0).data(ENTRY_ROLE).name == "f000.dat"
    sorted_model.sort(0, Qt.SortOrder.AscendingOrder)
    assert sorted_model.index(0, 0).data(ENTRY_ROLE).is_folder
    assert sorted_model.index(1, 0).data(ENTRY_ROLE).name == "f000.dat"
    assert sorted_model.index(0, 1).data() == ""  # folders have no size
    assert sorted_model.index(1, 1).data() == "1 B"

    # The Verified column: the catalog's fixity check of f000.dat, "not yet" for the others.
    first_file = next(f for f in measurement["files"] if f["path"].endswith("f000.dat"))
    check = http.post(f"/api/files/{first_file['id']}/verify").json()
    assert check["result"] == "ok"
    with qtbot.waitSignal(model.page_loaded, timeout=30_000):
        model.open(client, proposal["raw_bucket"], prefix)
    verified = {model.rows[r].name: model.index(r, 3).data() for r in range(model.rowCount())}
    assert verified["f000.dat"] == check["checked_at"][:16].replace("T", " ")
    assert verified["f001.dat"] == "not yet"
    uploader.close()
    client.close()
    http.close()
