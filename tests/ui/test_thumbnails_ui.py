"""Thumbnails where people look, against the local stack: an image uploaded and converted shows
its picture in the bucket grid, in the tree's hover and the details strip, and the upload dialog
shows a picture rendered from the local file before anything is sent."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import tifffile
from PySide6.QtCore import QModelIndex

from lamefair_desktop.catalog import local_server
from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.catalog.sync import Sync
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.nexus.mapping import default_registry
from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.deriver import Deriver
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from lamefair_desktop.ui.dialogs.upload_dialog import UploadDialog
from lamefair_desktop.ui.main_window import MainWindow
from lamefair_desktop.ui.models.bucket_model import ENTRY_ROLE
from lamefair_desktop.ui.panels.bucket_browser import BucketBrowser


def _image(path):
    image = np.full((120, 160), 30, np.uint8)
    image[30:90, 40:120] = 230
    tifffile.imwrite(path, image)
    return path


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """One image uploaded and converted into a fresh local catalog, with its thumbnail."""
    folder = tmp_path_factory.mktemp("thumbs-ui")
    server = local_server.start(folder / "server")
    http = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=60
    )
    project = http.post("/api/projects", json={"name": "Pictures"}).json()
    proposal = http.post("/api/proposals", json={"project": project["id"], "number": "7"}).json()
    sample = http.post("/api/samples", json={"proposal": proposal["id"], "name": "grid"}).json()
    experiment = http.post("/api/experiments", json={"sample": sample["id"], "name": "e"}).json()
    client = CatalogClient(server.url, server.token)
    sessions = open_local_db(folder / "local.sqlite")
    uploads = UploadQueue(sessions)
    uploader = Uploader(client, uploads, UploadSettings(stable_seconds=0.05))
    measurement = uploader.register(experiment["id"], [_image(folder / "square.tif")])
    derived = DerivedQueue(sessions)
    derived.add(client.catalog_key, measurement, "generic")
    deriver = Deriver(client, uploads, derived, validate_with_pynx=False)
    assert uploader.run() == {"stored": 1}
    assert deriver.run() == {"stored": 1}
    deriver.close()
    uploader.close()
    file = client.get_file(measurement["files"][0]["id"])
    assert file["derived"][0]["thumbnail"] is True
    yield {
        "client": client,
        "sessions": sessions,
        "proposal": proposal,
        "file": file,
        "source": folder / "square.tif",
    }
    client.close()
    local_server.stop(server)


def test_the_bucket_grid_shows_the_thumbnails(qtbot, converted):
    browser = BucketBrowser()
    qtbot.addWidget(browser)
    browser.client = converted["client"]
    browser.icons.ensure(converted["client"], Settings.load())
    browser.show_grid(True)
    derived = converted["file"]["derived"][0]
    with qtbot.waitSignal(browser.model.page_loaded, timeout=30_000):
        browser.model.open(converted["client"], derived["bucket"], derived["key"].rsplit("/", 1)[0])
    browser.show()
    qtbot.waitExposed(browser)
    proxy = browser.grid.proxy
    names = [proxy.index(r, 0).data(ENTRY_ROLE).name for r in range(proxy.rowCount())]
    assert "square.nxs" in names
    assert "square.thumb.png" in names  # the PNG beside its NXem
    row = names.index("square.nxs")
    qtbot.waitUntil(lambda: proxy.has_thumbnail(row), timeout=20_000)
    icon = proxy.index(row, 0).data(1)  # DecorationRole
    assert icon.actualSize(browser.grid.iconSize()).width() > 100
    assert browser.views.currentWidget() is browser.grid
    browser.grid.setCurrentIndex(proxy.index(row, 0))
    assert [e.name for e in browser.selected()] == ["square.nxs"]  # the actions work on the grid


def test_the_tree_hover_and_the_details_show_the_thumbnail(qtbot, converted):
    client = converted["client"]
    sync = Sync(client, converted["sessions"])
    sync.pull()
    window = MainWindow(open_workspace=None)
    qtbot.addWidget(window)
    window.thumbnails.ensure(client, Settings.load())
    window.tree_model.reload(sync.cache)
    window.show()
    qtbot.waitExposed(window)
    model, index = window.tree_filter, QModelIndex()
    for _level in range(6):  # project → … → measurement → file, one child each
        window.catalog_view.expand(index)
        qtbot.waitUntil(lambda i=index: model.rowCount(i) > 0, timeout=10_000)
        index = model.index(0, 0, index)
        if _level == 4:
            measurement = index
    assert str(index.data()).endswith("square.tif")
    assert "<img" not in window.tree_tips.tooltip(index)  # asked for now
    qtbot.waitUntil(lambda: "<img" in window.tree_tips.tooltip(index), timeout=20_000)
    assert "square.tif" in window.tree_tips.tooltip(index)

    window.catalog_view.setCurrentIndex(measurement)
    qtbot.waitUntil(lambda: window.details.strip.shown() == 1, timeout=20_000)
    assert window.details.strip.isVisibleTo(window.details)


def test_the_upload_dialog_shows_a_thumbnail_of_each_image(qtbot, converted):
    dialog = UploadDialog(
        [converted["source"]],
        experiment_id="e",
        experiment_name="e",
        pairs=default_registry().pairs(),
        context={},
        remembered_pair="generic",
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.inspected, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: dialog.thumbnail_shown(0), timeout=20_000)
    pixmap = dialog.table.item(0, 0).icon().pixmap(40, 40)
    image = pixmap.toImage()
    centre = image.pixelColor(image.width() // 2, image.height() // 2)
    corner = image.pixelColor(1, 1)
    assert centre.lightness() > 150 > corner.lightness()  # the bright square, on dark
