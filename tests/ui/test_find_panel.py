"""The Find panel in the real window, on the real local stack (embedded catalog + SeaweedFS):
two corpus TIFFs uploaded and converted are found by a voltage range with their facet counts, a
facet click narrows the results, double-clicking a hit previews its NXem, and Show in tree
selects its file."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from lamefair_desktop.ui.dialogs.upload_dialog import UploadRequest
from lamefair_desktop.ui.main_window import MainWindow
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE

TIFFS = ("FEI-Helios-Ebeam-16bits.tif", "test_tiff_Zeiss_SEM_512pix.tif", "TVIPS_bin4.tif")
LONG = 120_000


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignals([window.workspace_ready, window.catalog_synced], timeout=LONG):
        pass
    yield window
    window.close()
    window.shutdown()


def _converted_hierarchy(qtbot, window, corpus_tiff_dir) -> None:
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

    def selected_file() -> str:
        index = window.catalog_view.currentIndex()
        node = index.data(NODE_ROLE) if index.isValid() else None
        return node.id if node is not None and node.kind == "file" else ""

    qtbot.waitUntil(lambda: selected_file() == panel.model.hit(0)["file"], timeout=30_000)


def test_a_bad_range_is_shown_on_its_field(qtbot, window):
    panel = window.find_panel
    panel.pixel_low.setText("tiny")
    qtbot.mouseClick(panel.search_button, Qt.MouseButton.LeftButton)
    assert "Pixel size: 'tiny' is not a number." in panel.status.text()
    assert panel.pixel_low.styleSheet()
    assert panel.model.rowCount() == 0
