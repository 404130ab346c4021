"""Offline, the dialogs still create samples and experiments (the outbox); the tree marks them as
not sent yet, and the next sync sends them. Projects need the catalog and say so."""

from __future__ import annotations

from urllib.parse import urlparse

import httpx
import pytest
from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QDialogButtonBox

from lamefair_desktop.catalog import local_server
from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.catalog.connection import Connection
from lamefair_desktop.engines.workspace import Workspace
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.ui.main_window import MainWindow
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def proxied_local(tmp_path):
    server = local_server.start()
    target = urlparse(server.url)
    proxy = TcpProxy(target.hostname, target.port)
    yield server, proxy
    proxy.close()
    local_server.stop(server)


def _save(dialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()


def _rows(model, parent: QModelIndex | None = None) -> list[str]:
    parent = parent or QModelIndex()
    if model.canFetchMore(parent):
        model.fetchMore(parent)
    return [str(model.index(r, 0, parent).data()) for r in range(model.rowCount(parent))]


def test_offline_creates_wait_in_the_outbox_and_go_with_the_next_sync(qtbot, proxied_local):
    server, proxy = proxied_local
    http = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=60
    )  # creating a proposal makes its buckets while the window starts: seconds on 2 cores
    project = http.post("/api/projects", json={"name": "Offline lab"}).json()
    http.post("/api/proposals", json={"project": project["id"], "number": "7"}).raise_for_status()

    def open_workspace() -> Workspace:
        client = CatalogClient(proxy.endpoint, server.token, attempts=1, backoff=0.05)
        return Workspace(Connection(client, "proxied"), open_local_db(), Settings())

    window = MainWindow(open_workspace=open_workspace)
    qtbot.addWidget(window)
    with qtbot.waitSignals([window.workspace_ready, window.catalog_synced], timeout=60_000):
        window.show()
    model = window.tree_filter
    qtbot.waitUntil(lambda: _rows(model) == ["Offline lab (1)"], timeout=30_000)
    project_index = model.index(0, 0)
    qtbot.waitUntil(lambda: _rows(model, project_index) == ["7"], timeout=30_000)
    proposal_index = model.index(0, 0, project_index)

    proxy.cut()
    with qtbot.waitSignal(window.catalog_synced, timeout=30_000):
        window.sync_action.trigger()
    assert window.online_label.text() == "○ offline"

    refused = window.create("project")  # bucket names are made by the catalog: not offline
    refused.set_text("name", "Needs the server")
    _save(refused)
    qtbot.waitUntil(
        lambda: "samples and experiments can be created offline" in refused.message.text()
    )
    refused.reject()

    window.catalog_view.setCurrentIndex(proposal_index)
    sample = window.create_child()
    sample.set_text("name", "Grid 4")
    with qtbot.waitSignal(sample.saved, timeout=30_000) as saved:
        _save(sample)
    assert saved.args[0].pending
    qtbot.waitUntil(
        lambda: _rows(model, proposal_index) == ["Grid 4 — not sent yet"], timeout=30_000
    )

    proxy.restore()
    with qtbot.waitSignal(window.catalog_synced, timeout=30_000):
        window.sync_action.trigger()
    assert window.online_label.text() == "● online"
    samples = http.get("/api/samples", params={"proposal": _proposal_id(http, project)}).json()
    assert [s["name"] for s in samples] == ["Grid 4"]
    window.tree_model.reload()
    qtbot.waitUntil(lambda: _rows(model) == ["Offline lab (1)"], timeout=30_000)
    project_index = model.index(0, 0)
    qtbot.waitUntil(lambda: _rows(model, project_index) == ["7 (1)"], timeout=30_000)
    proposal_index = model.index(0, 0, project_index)
    qtbot.waitUntil(lambda: _rows(model, proposal_index) == ["Grid 4"], timeout=30_000)
    window.close()
    window.shutdown()
    http.close()


def _proposal_id(http, project) -> str:
    return http.get("/api/proposals", params={"project": project["id"]}).json()[0]["id"]
