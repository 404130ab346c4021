"""The preview panel (offscreen): calibrated read-out, frames, metadata search, bad files."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from lamefair_desktop.nexus.writer import convert
from lamefair_desktop.ui.panels.preview_panel import PreviewPanel, _nice_length


@pytest.fixture
def panel(qtbot):
    widget = PreviewPanel()
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.close_file()


def test_tiff_cursor_reads_calibrated_position_and_value(panel, qtbot, corpus_tiff_dir):
    with qtbot.waitSignal(panel.loaded, timeout=30_000) as loaded:
        panel.open_file(corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif")
    info = loaded.args[0].info
    assert info.pixel_x == pytest.approx(3.3724e-06)
    assert "FEI" in panel.title.text()
    assert "3.372 µm" in panel.title.text()
    pitch = info.pixel_x
    text = panel.show_value_at(100.5 * pitch, 50.5 * pitch)  # centre of pixel (col 100, row 50)
    expected = int(panel.frame[50, 100])
    assert text == f"x = 337.2 µm, y = 168.6 µm, value = {expected}"
    assert panel.readout.text() == text
    assert panel.scale_bar is not None
    # Metadata pane: every flattened key, searchable.
    panel.search.setText("Beam.HV")
    visible = [
        panel.metadata_proxy.index(row, 0).data() for row in range(panel.metadata_proxy.rowCount())
    ]
    assert "FEI_HELIOS.Beam.HV" in visible
    assert all("beam.hv" in key.lower() for key in visible)


def test_nexus_stack_frames_load_lazily(panel, qtbot, tmp_path):
    source = tmp_path / "stack.tif"
    frames = np.stack([np.full((32, 40), i, np.uint16) for i in range(3)])
    tifffile.imwrite(
        source, frames, imagej=True, resolution=(2.0, 2.0), metadata={"unit": "nm", "axes": "ZYX"}
    )
    out = tmp_path / "stack.nxs"
    convert(source, out)
    with qtbot.waitSignal(panel.loaded, timeout=30_000):
        panel.open_file(out)
    assert panel.frame_slider.isEnabled()
    assert panel.frame_slider.maximum() == 2
    assert int(panel.frame[0, 0]) == 0
    with qtbot.waitSignal(panel.frame_shown, timeout=30_000) as shown:
        panel.frame_slider.setValue(2)
    assert shown.args[0] == 2
    assert panel.frame_label.text() == "3 / 3"
    assert int(panel.frame[0, 0]) == 2
    panel.search.setText("definition")
    assert panel.metadata_proxy.rowCount() == 1  # the entry group that holds it
    text = panel.show_value_at(10.6e-9, 0.2e-9)  # 0.5 nm pixels: column 21, row 0
    assert text == "x = 10.5 nm, y = 0 m, value = 2"


def test_a_bad_file_gives_a_message_not_a_crash(panel, qtbot, tmp_path):
    bogus = tmp_path / "notes.tif"
    bogus.write_text("not an image")
    with qtbot.waitSignal(panel.failed, timeout=30_000) as failed:
        panel.open_file(bogus)
    assert "notes.tif" in failed.args[0]
    assert panel.title.text().startswith("Cannot show this file")


def test_scale_bar_lengths_are_round():
    assert _nice_length(3.4e-4) == pytest.approx(2e-4)
    assert _nice_length(7e-9) == pytest.approx(5e-9)
    assert _nice_length(1.0) == 1.0


def test_opening_another_file_replaces_the_scale_bar(panel, qtbot, corpus_tiff_dir):
    import pyqtgraph as pg

    for name in ("FEI-Helios-Ebeam-16bits.tif", "test_tiff_Zeiss_SEM_512pix.tif"):
        with qtbot.waitSignal(panel.loaded, timeout=30_000):
            panel.open_file(corpus_tiff_dir / name)
    scene = panel.image_view.getView().scene()
    bars = [item for item in scene.items() if isinstance(item, pg.ScaleBar)]
    assert bars == [panel.scale_bar]


def test_colour_nexus_is_shown_in_colour(panel, qtbot, tmp_path):
    source = tmp_path / "optical.tif"
    rgb = np.zeros((24, 32, 3), np.uint8)
    rgb[..., 0] = 200  # red
    tifffile.imwrite(source, rgb, photometric="rgb")
    out = tmp_path / "optical.nxs"
    convert(source, out)
    with qtbot.waitSignal(panel.loaded, timeout=30_000):
        panel.open_file(out)
    assert panel.frame.shape == (24, 32, 3)
    assert "uncalibrated" in panel.title.text()
    text = panel.show_value_at(5.5, 3.5)
    assert text.startswith("x = 5 px, y = 3 px, value = [200")
