"""The Find panel in the real window, on the real local stack (embedded catalog + SeaweedFS):
two corpus TIFFs uploaded and converted are found by a voltage range with their facet counts, a
facet click narrows the results, double-clicking a hit previews its NXem, and Show in tree
selects its file. The grid shows the hits as thumbnails (a placeholder for a file converted
before thumbnails), with the table's actions, and the window remembers it was chosen."""

from __future__ import annotations

import hashlib

from PySide6.QtCore import Qt

from lamefair_desktop.catalog.tls import http_client
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.nexus.acquisition_values import acquisition_values
from lamefair_desktop.nexus.writer import convert
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from lamefair_desktop.ui.dialogs.upload_dialog import UploadRequest
from lamefair_desktop.ui.main_window import MainWindow
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE
from lamefair_desktop.ui.panels.thumbnail_grid import Picture

TIFFS = ("FEI-Helios-Ebeam-16bits.tif", "test_tiff_Zeiss_SEM_512pix.tif", "TVIPS_bin4.tif")
OLDER = "JEOL-SightX-SAED-dummy.tif"  # stored as a converter from before thumbnails did
LONG = 120_000


def _converted_hierarchy(qtbot, window, corpus_tiff_dir) -> dict:
    sync = window.workspace.sync
    client = window.workspace.client
    project = client.create("projects", {"name": "Find"})
    proposal = client.create("proposals", {"project": project["id"], "number": "2026-7"})
    sample = client.create(
        "samples", {"proposal": proposal["id"], "name": "gold on carbon", "atom_types": ["Au", "C"]}
    )
    experiment = client.create("experiments", {"sample": sample["id"], "name": "overview"})
    converted: list[str] = []
    window.notified.connect(converted.append)
    inputs = tuple(corpus_tiff_dir / name for name in TIFFS)
    window.start_upload(UploadRequest(experiment["id"], inputs, "generic", "Ada", "grid 3", True))
    qtbot.waitUntil(lambda: any("converted" in n for n in converted), timeout=LONG)
    sync.pull()
    return experiment


def _stored_without_thumbnail(client, experiment_id: str, source, tmp_path) -> None:
    """`source` uploaded, its NXem and search values sent as a desktop from before thumbnails
    did: searchable, without a picture."""
    queue = UploadQueue(open_local_db(tmp_path / "older.sqlite"))
    uploader = Uploader(client, queue, UploadSettings(stable_seconds=0.05))
    try:
        measurement = uploader.register(experiment_id, [source], operator="Ada")
        assert uploader.run() == {"stored": 1}
    finally:
        uploader.close()
    nxs = tmp_path / "older.nxs"
    convert(source, nxs)
    body = nxs.read_bytes()
    plan = client.start_derived(
        measurement["files"][0]["id"],
        len(body),
        hashlib.sha256(body).hexdigest(),
        True,
        "",
        acquisition_values(nxs, valid=True),
    )
    with http_client(client.ca_bundle) as s3:
        assert s3.put(plan["url"], content=body, headers=plan["headers"]).status_code == 200
    assert client.complete_derived(plan["id"])["thumbnail"] is False


def test_find_shows_results_and_facets_and_opens_the_preview(qtbot, window, corpus_tiff_dir):
    _converted_hierarchy(qtbot, window, corpus_tiff_dir)
    window.find_files_action.trigger()  # Ctrl+F
    panel = window.find_panel
    assert window.tabs.currentWidget() is panel

    panel.voltage_low.setText("4")  # kV: the two SEM images at 5 kV, not the 99 kV TEM one
    panel.voltage_high.setText("6")
    with qtbot.waitSignal(panel.searched, timeout=30_000) as found:
        qtbot.mouseClick(panel.search_button, Qt.MouseButton.LeftButton)
    assert found.args == [2]
    assert panel.model.rowCount() == 2
    instruments = {i.text(0): i.text(1) for i in panel.facet_items("instruments")}
    assert instruments == {
        'FEI (Thermo Fisher Scientific) Helios NanoLab" 660': "1",
        "Carl Zeiss Microscopy ULTRA": "1",
    }
    assert {i.text(0): i.text(1) for i in panel.facet_items("elements")} == {"Au": "2", "C": "2"}
    assert {i.text(0) for i in panel.facet_items("voltages")} == {"5 kV"}
    assert "2 file(s) found" in panel.status.text()

    zeiss = next(i for i in panel.facet_items("detectors") if i.text(0) == "InLens")
    with qtbot.waitSignal(panel.searched, timeout=30_000) as narrowed:
        panel.facets.itemClicked.emit(zeiss, 0)
    assert narrowed.args == [1]
    assert panel.model.index(0, 6).data().endswith("test_tiff_Zeiss_SEM_512pix.tif")

    # Double-click: its NXem comes from the mirror bucket into the preview.
    loaded: list = []
    window.preview.loaded.connect(loaded.append)
    panel.table.doubleClicked.emit(panel.model.index(0, 0))
    qtbot.waitUntil(lambda: bool(loaded), timeout=60_000)
    assert window.tabs.currentWidget() is window.preview
    assert window.preview.info.kind == "nexus"
    assert window.preview.info.frame_shape == (384, 512)

    # Show in tree: the file is selected, the branches above it opened as they load.
    panel.table.selectRow(0)
    qtbot.mouseClick(panel.tree_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _selected_file(window) == panel.model.hit(0)["file"], timeout=30_000)


def test_a_bad_range_is_shown_on_its_field(qtbot, window):
    panel = window.find_panel
    panel.pixel_low.setText("tiny")
    qtbot.mouseClick(panel.search_button, Qt.MouseButton.LeftButton)
    assert "Pixel size: 'tiny' is not a number." in panel.status.text()
    assert panel.pixel_low.styleSheet()
    assert panel.model.rowCount() == 0


def _selected_file(window) -> str:
    index = window.catalog_view.currentIndex()
    node = index.data(NODE_ROLE) if index.isValid() else None
    return node.id if node is not None and node.kind == "file" else ""


def test_the_grid_shows_thumbnails_with_the_tables_actions_and_is_remembered(
    qtbot, window, corpus_tiff_dir, tmp_path
):
    experiment = _converted_hierarchy(qtbot, window, corpus_tiff_dir)
    older = tmp_path / "old" / OLDER
    older.parent.mkdir()
    older.write_bytes((corpus_tiff_dir / OLDER).read_bytes())
    _stored_without_thumbnail(window.workspace.client, experiment["id"], older, tmp_path)
    window.find_files_action.trigger()
    panel = window.find_panel
    assert panel.view_name() == "Table"
    qtbot.mouseClick(panel.grid_button, Qt.MouseButton.LeftButton)  # or Ctrl+G
    assert panel.results_views.currentWidget() is panel.grid
    with qtbot.waitSignal(panel.searched, timeout=30_000) as found:
        qtbot.mouseClick(panel.search_button, Qt.MouseButton.LeftButton)
    assert found.args == [4]

    tiles = panel.grid.proxy
    names = [tiles.index(r, 0).data().split("\n")[0] for r in range(tiles.rowCount())]
    assert sorted(names) == sorted([*TIFFS, OLDER])
    qtbot.waitUntil(
        lambda: all(tiles.picture(r) is not Picture.LOADING for r in range(4)), timeout=30_000
    )
    pictures = {name: tiles.picture(r) for r, name in enumerate(names)}
    assert pictures == {**dict.fromkeys(TIFFS, Picture.THUMBNAIL), OLDER: Picture.NONE}
    for row, name in enumerate(names):
        image = tiles.index(row, 0).data(Qt.ItemDataRole.DecorationRole).pixmap(160).toImage()
        face = image.pixelColor(image.width() // 2, image.height() // 4).name()
        # The placeholder's grey face (above its text), the others a picture.
        assert (face == "#ececec") == (name == OLDER), name
    zeiss = names.index("test_tiff_Zeiss_SEM_512pix.tif")
    caption = tiles.index(zeiss, 0).data().split("\n")
    assert caption[1] == " · ".join(panel.model.index(zeiss, c).data() for c in (3, 4))
    assert caption[1].startswith("5 kV · ")
    assert caption[1].endswith("m")

    # A double-click on a tile previews its NXem, as in the table.
    loaded: list = []
    window.preview.loaded.connect(loaded.append)
    rect = panel.grid.visualRect(tiles.index(zeiss, 0))
    # A press first: the view only takes a double-click on the item it was pressed on.
    qtbot.mouseClick(panel.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(panel.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: bool(loaded), timeout=60_000)
    assert window.tabs.currentWidget() is window.preview
    assert window.preview.info.frame_shape == (384, 512)

    # The context menu: the table's actions; Show in tree selects the tile's file.
    window.tabs.setCurrentWidget(panel)
    menu = panel.context_menu(panel.grid, rect.center())
    texts = [a.text() for a in menu.actions()]
    assert texts == ["Open in preview", "Show in tree", "Download…"]
    table_rect = panel.table.visualRect(panel.model.index(zeiss, 0))
    table_menu = panel.context_menu(panel.table, table_rect.center())
    assert [a.text() for a in table_menu.actions()] == texts
    panel.show_view("Grid")
    menu = panel.context_menu(panel.grid, rect.center())
    assert panel.selected_hit() == panel.model.hit(zeiss)
    menu.actions()[1].trigger()
    qtbot.waitUntil(
        lambda: _selected_file(window) == panel.model.hit(zeiss)["file"], timeout=30_000
    )

    # The next window opens the Find panel on the grid.
    again = MainWindow(open_workspace=None)
    qtbot.addWidget(again)
    assert again.find_panel.view_name() == "Grid"
    assert again.find_panel.grid_button.isChecked()
    again.close()
