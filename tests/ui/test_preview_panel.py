"""The preview panel (offscreen): calibrated read-out, frames, metadata search, bad files."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import Qt

from lamefair_desktop.nexus.writer import convert
from lamefair_desktop.ui.panels.preview_panel import PreviewPanel
from lamefair_desktop.ui.panels.scale_bar import nice_length as _nice_length


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


def _open(panel, qtbot, path):
    with qtbot.waitSignal(panel.loaded, timeout=30_000) as loaded:
        panel.open_file(path)
    return loaded.args[0]


def _helios_16bit(tmp_path):
    """A 16-bit FEI image whose signal fills ~1000..3000 of 65535, with one hot pixel."""
    ini = (
        "[User]\r\nDate=11/20/2026\r\nTime=09:30:00 AM\r\n[System]\r\nType=DualBeam\r\n"
        "SystemType=Helios G4 UX\r\nSource=FEG\r\nSoftware=11.2.0\r\n[EBeam]\r\nHV=20000\r\n"
        "[Scan]\r\nPixelWidth=2.5e-09\r\nPixelHeight=2.5e-09\r\nDwelltime=3e-06\r\n"
    )
    image = np.random.default_rng(5).normal(2000, 300, (200, 300)).clip(0, 65535)
    image = image.astype(np.uint16)
    image[5, 5] = 65535
    source = tmp_path / "helios16.tif"
    tifffile.imwrite(source, image, extratags=[(34682, "s", 0, ini, True)])
    out = tmp_path / "helios16.nxs"
    convert(source, out)
    return image, out


def test_the_acquisition_summary_comes_first_in_physical_units(panel, qtbot, corpus_tiff_dir):
    _open(panel, qtbot, corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif")
    assert panel.metadata_proxy.index(0, 0).data() == "Acquisition"
    facts = panel.metadata.acquisition_rows()
    assert facts["Accelerating voltage"] == "5.0 kV"
    assert facts["Pixel size"] == "3.372 µm"
    assert facts["Working distance"] == "4.035 mm"
    _open(panel, qtbot, corpus_tiff_dir / "test_tiff_Zeiss_SEM_512pix.tif")
    keys = [
        panel.metadata_model.item(row, 0).text() for row in range(panel.metadata_model.rowCount())
    ]
    wd = keys.index("CZ_SEM: WD")
    assert panel.metadata_model.item(wd, 1).text() == "3.9 mm"
    assert not any(key.startswith("CZ_SEM.values[") for key in keys)
    panel.search.setText("ap_wd")  # the raw key still finds the labelled row
    found = [
        panel.metadata_proxy.index(r, 0).data() for r in range(panel.metadata_proxy.rowCount())
    ]
    assert "CZ_SEM: WD" in found


def test_the_read_out_is_cleared_when_another_file_opens(panel, qtbot, corpus_tiff_dir):
    first = _open(panel, qtbot, corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif")
    pitch = first.info.pixel_x
    assert panel.show_value_at(100.5 * pitch, 50.5 * pitch).startswith("x = 337.2 µm")
    _open(panel, qtbot, corpus_tiff_dir / "test_tiff_Zeiss_SEM_512pix.tif")
    assert "337.2 µm" not in panel.readout.text()
    assert panel.readout.text().strip() == ""


def test_16_bit_nexus_levels_follow_the_data_not_the_dtype(panel, qtbot, tmp_path):
    image, out = _helios_16bit(tmp_path)
    _open(panel, qtbot, out)
    low, high = panel.image_view.ui.histogram.getLevels()
    assert image.min() <= low < high <= np.percentile(image, 99.95)  # the hot pixel is ignored
    assert high < 10_000  # not 65535: the image is not squashed into black


def test_a_blank_image_says_so_rather_than_looking_broken(panel, qtbot, corpus_tiff_dir, tmp_path):
    # The corpus FEI file's image rows are all 0 (only its data bar has content).
    out = tmp_path / "fei.nxs"
    convert(corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif", out)
    _open(panel, qtbot, out)
    assert "blank image: every pixel is 0" in panel.title.text()


def test_nexus_values_show_their_units(panel, qtbot, tmp_path):
    _image, out = _helios_16bit(tmp_path)
    _open(panel, qtbot, out)
    panel.search.setText("electron_source/voltage")
    model, proxy = panel.metadata_model, panel.metadata_proxy
    rows = model.findItems("voltage", Qt.MatchFlag.MatchRecursive | Qt.MatchFlag.MatchExactly)
    assert [model.indexFromItem(r).siblingAtColumn(1).data() for r in rows] == ["20000.0 V"]
    assert proxy.rowCount() == 1  # the entry that holds it (the summary's row reads "20.0 kV")


def test_diffraction_scale_reads_in_reciprocal_nanometres(panel, qtbot, corpus_tiff_dir):
    loaded = _open(panel, qtbot, corpus_tiff_dir / "JEOL-SightX-SAED-dummy.tif")
    label = panel.scale_bar.text.toPlainText()
    assert label.endswith(" nm⁻¹")
    assert label.split()[0] == "20"
    pitch = panel._pitch()[0]
    text = panel.show_value_at(10.5 * pitch, 0.5 * pitch)
    assert text.startswith(f"x = {10 * loaded.info.pixel_x / 1e9:.4g} nm⁻¹")
    assert "Gm" not in text + label
    assert "Mm" not in text + label


def test_the_scale_bar_label_sits_on_a_dark_box(panel, qtbot, tmp_path):
    bright = tmp_path / "bright.tif"  # a bright, calibrated image (10 nm pixels)
    image = np.full((300, 400), 255, np.uint8)
    image[:30] = 0  # a dark band at the top: the levels go from black to white
    tifffile.imwrite(bright, image, imagej=True, resolution=(100.0, 100.0), metadata={"unit": "um"})
    _open(panel, qtbot, bright)
    # Zoom into the white part, so that the label lies on white.
    panel.image_view.getView().setRange(xRange=(1e-6, 3.5e-6), yRange=(1e-6, 2.8e-6), padding=0)
    qtbot.wait(50)
    label = panel.scale_bar.text
    graphics = panel.image_view.ui.graphicsView
    box = graphics.mapFromScene(label.mapRectToScene(label.boundingRect())).boundingRect()
    picture = graphics.grab().toImage()
    inside = [
        picture.pixelColor(x, y).lightness()
        for x in range(box.left() + 2, box.right() - 2)
        for y in range(box.top() + 2, box.bottom() - 2)
    ]
    assert inside
    assert np.mean(inside) < 128
    assert panel.scale_bar.bar.pen().style() != Qt.PenStyle.NoPen  # the bar is outlined too


def test_long_keys_have_tooltips_and_elide_in_the_middle(panel, qtbot, corpus_tiff_dir):
    _open(panel, qtbot, corpus_tiff_dir / "JEOL-SightX-SAED-dummy.tif")
    assert panel.metadata_view.textElideMode() == Qt.TextElideMode.ElideMiddle
    model = panel.metadata_model
    long_key = next(
        model.item(r, 0) for r in range(model.rowCount()) if len(model.item(r, 0).text()) > 40
    )
    assert long_key.text() in long_key.toolTip()


def test_a_visible_colour_map_choice(panel, qtbot, corpus_tiff_dir):
    _open(panel, qtbot, corpus_tiff_dir / "test_tiff_Zeiss_SEM_512pix.tif")
    assert panel.colour_map.isVisible()
    panel.colour_map.setCurrentText("viridis")
    lut = panel.image_view.ui.histogram.gradient.getLookupTable(256)
    assert tuple(lut[0][:3]) == (68, 1, 84)  # viridis's dark purple, not grey's black


def test_metadata_values_stay_inside_a_small_window(panel, qtbot, corpus_tiff_dir):
    panel.resize(760, 600)  # what is left of a 1024 × 700 screen beside the catalog tree
    _open(panel, qtbot, corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif")
    qtbot.wait(20)
    header = panel.metadata_view.header()
    viewport = panel.metadata_view.viewport().width()
    assert header.sectionPosition(1) + header.sectionSize(1) <= viewport
    assert header.sectionSize(1) >= 0.4 * viewport


def test_line_profile_and_rectangle_statistics_in_physical_units(panel, qtbot, tmp_path):
    source = tmp_path / "steps.tif"  # 10 nm pixels; left half 100, right half 200
    image = np.full((100, 200), 100, np.uint16)
    image[:, 100:] = 200
    tifffile.imwrite(source, image, imagej=True, resolution=(100.0, 100.0), metadata={"unit": "um"})
    _open(panel, qtbot, source)
    panel.measure.profile_button.click()
    assert panel.measure.plot.isVisible()
    panel.measure.line.setPos(0, 0)
    distance, values = panel.measure.profile
    assert distance[-1] == pytest.approx(1.2e-6, rel=0.02)  # 60 % of a 2 µm wide image
    assert values[0] == 100
    assert values[-1] == 200
    panel.measure.rect_button.click()
    panel.measure.rect.setPos((0.5e-6, 0.2e-6))
    panel.measure.rect.setSize((1.0e-6, 0.5e-6))  # 100 × 50 px, half in each half
    assert panel.measure.stats.text() == (
        "Rectangle 1 µm × 500 nm (100 × 50 px): mean 150, std 50, min 100, max 200"
    )
    _open(panel, qtbot, source)  # another file: the tools are put away
    assert panel.measure.rect is None
    assert not panel.measure.rect_button.isChecked()


def test_a_file_opened_after_another_is_the_one_shown(panel, qtbot, corpus_tiff_dir):
    first = corpus_tiff_dir / "TVIPS_bin4.tif"
    second = corpus_tiff_dir / "test_tiff_Zeiss_SEM_512pix.tif"
    with qtbot.waitSignal(panel.loaded, timeout=30_000) as loaded:
        panel.open_file(first)
        panel.open_file(second)  # before the first has been read
    assert loaded.args[0].path == second
    qtbot.waitUntil(lambda: not panel._jobs, timeout=30_000)  # the first read has finished too
    assert panel.info.title.startswith(second.name)
    with qtbot.waitSignal(panel.frame_shown, timeout=30_000):
        panel._request_frame(0)
    assert panel.frame.shape == (384, 512)
