"""Export for publication… in the window: the tree's menu offers it on measurements, experiments
and proposals (saying why when it cannot), and the dialog runs the export on a worker against a
real catalog and SeaweedFS: progress, the archive written, a failure said in words."""

from __future__ import annotations

import zipfile

from PySide6.QtCore import Qt

from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from lamefair_desktop.ui.dialogs.export_dialog import ExportDialog
from lamefair_desktop.ui.main_window import MainWindow
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE
from tests.support.catalog import ADMIN, Api, oidc_login, start_catalog
from tests.ui.test_catalog_tree import cache  # noqa: F401 - the fixture
from tests.ui.test_details_and_guidance import _down


def _menu_entry(window, index):
    menu = window.tree_menu(index.data(NODE_ROLE))
    return next(a for a in menu.actions() if a.text() == "Export for publication…")


def test_the_tree_offers_the_export_and_says_why_it_cannot_yet(qtbot, cache):  # noqa: F811
    window = MainWindow(open_workspace=None)
    qtbot.addWidget(window)
    window.tree_model.reload(cache)
    window.show()
    measurement = _down(qtbot, window, ["Oxides", "2026-17", "LSMO film", "HRSTEM", "2026"])
    entry = _menu_entry(window, measurement)
    assert not entry.isEnabled()
    assert entry.toolTip() == "Not connected yet."
    proposal = _down(qtbot, window, ["Oxides", "2026-17"])
    assert _menu_entry(window, proposal) is not None
    sample = _down(qtbot, window, ["Oxides", "2026-17", "LSMO film"])
    menu = window.tree_menu(sample.data(NODE_ROLE))
    assert "Export for publication…" not in [a.text() for a in menu.actions()]


def test_the_dialog_exports_on_a_worker_and_says_what_went_wrong(
    qtbot, seaweed, oidc_provider, tmp_path
):
    server = start_catalog(
        f"sqlite:///{tmp_path / 'c.sqlite'}", seaweed, oidc_provider.issuer, tmp_path
    )
    try:
        token = oidc_login(oidc_provider.issuer, *ADMIN)["access_token"]
        experiment = Api(server.url, token).make_hierarchy()["experiment"]
        source = tmp_path / "frame.raw"
        source.write_bytes(b"\x01\x02" * 300_000)
        with CatalogClient(server.url, token) as client:
            uploader = Uploader(
                client, UploadQueue(open_local_db(tmp_path / "q.sqlite")), UploadSettings()
            )
            measurement = uploader.register(experiment["id"], [source])
            assert uploader.run() == {"stored": 1}
            uploader.close()

            dialog = ExportDialog(client, "measurement", measurement["id"], "frame")
            qtbot.addWidget(dialog)
            dialog.show()
            assert dialog.path.text().endswith("frame.eln")
            dialog.path.setText(str(tmp_path / "nowhere" / "m.eln"))
            qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
            assert "licence" in dialog.status.text()  # nothing started without one
            dialog.licence.setCurrentText("CC-BY-4.0")
            with qtbot.waitSignal(dialog.failed_export, timeout=30_000):
                qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
            assert "does not exist" in dialog.status.text()
            assert dialog.export_button.isEnabled()  # fields kept: fix the path, try again

            dialog.path.setText(str(tmp_path / "m.eln"))
            with qtbot.waitSignal(dialog.finished_export, timeout=30_000) as done:
                qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
            assert done.args[0].files == 2  # the raw file and the measurement's README
            assert dialog.status.text().startswith(f"Wrote {tmp_path / 'm.eln'}")
            assert dialog.cancel_button.text() == "Close"
            with zipfile.ZipFile(tmp_path / "m.eln") as archive:
                raw = next(n for n in archive.namelist() if n.endswith("/frame.raw"))
                assert archive.read(raw) == source.read_bytes()
    finally:
        server.stop()
