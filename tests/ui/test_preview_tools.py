"""Fiji's tools in the preview (offscreen): the ruler, the data bar, the exported view, and handing
the file to Fiji or napari."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from lamefair_desktop.home.settings import Settings
from lamefair_desktop.nexus.writer import convert
from lamefair_desktop.ui.panels.preview_panel import PreviewPanel

NM = 1e-9


@pytest.fixture
def panel(qtbot):
    widget = PreviewPanel()
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    yield widget
    qtbot.waitUntil(lambda: not widget.viewers.jobs.jobs and not widget.export.jobs.jobs)
    widget.close_file()


def _open(panel, qtbot, path):
    with qtbot.waitSignal(panel.loaded, timeout=30_000) as loaded:
        panel.open_file(path)
    return loaded.args[0]


def _calibrated(tmp_path: Path, name="dark.tif") -> tuple[Path, np.ndarray]:
    """300 × 200 px at 2.5 nm per pixel, a dark gradient (no pixel near white)."""
    image = np.tile(np.linspace(10, 90, 300).astype(np.uint8), (200, 1))
    path = tmp_path / name
    tifffile.imwrite(path, image, imagej=True, resolution=(0.4, 0.4), metadata={"unit": "nm"})
    return path, image


def test_the_ruler_reads_a_drawn_line_in_nanometres_and_degrees(panel, qtbot, tmp_path):
    path, _ = _calibrated(tmp_path)
    _open(panel, qtbot, path)
    panel.ruler.button.click()
    assert panel.ruler.label.isVisible()
    # A 3-4-5 triangle: 120 px right and 90 px down is 150 px, 375 nm, at -36.9° (Fiji's sense).
    panel.ruler.set_ends((20 * 2.5 * NM, 50 * 2.5 * NM), (140 * 2.5 * NM, 140 * 2.5 * NM))
    assert panel.ruler.text == "375 nm, -36.9°"
    assert panel.ruler.label.toPlainText() == "375 nm, -36.9°"

    # Drawn with the mouse, as in Fiji: press, drag, release on the image.
    view = panel.image_view.getView()
    graphics = panel.image_view.ui.graphicsView

    def on_screen(column, row):
        return graphics.mapFromScene(view.mapViewToScene(_point(column, row)))

    start, end = on_screen(50, 100), on_screen(250, 100)
    QTest.mousePress(graphics.viewport(), Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 11):
        QTest.mouseMove(graphics.viewport(), start + (end - start) * step / 10)
    QTest.mouseRelease(graphics.viewport(), Qt.MouseButton.LeftButton, pos=end)
    length, angle = panel.ruler.length, panel.ruler.angle
    assert length == pytest.approx(200 * 2.5 * NM, rel=0.03)  # 500 nm, give or take a screen px
    assert abs(angle) < 1.5
    assert panel.ruler.text.split(",")[0].endswith(" nm")

    bare = tmp_path / "bare.tif"
    tifffile.imwrite(bare, np.zeros((50, 80), np.uint8))
    _open(panel, qtbot, bare)
    assert not panel.ruler.button.isChecked()  # put away for another file
    panel.ruler.button.click()
    panel.ruler.set_ends((0, 0), (30, 40))
    assert panel.ruler.text == "50 px (uncalibrated), -53.1°"


def _point(x_px, y_px):
    return QPointF(x_px * 2.5 * NM, y_px * 2.5 * NM)


def test_the_fei_data_bar_is_hidden_until_asked_for(panel, qtbot, corpus_tiff_dir, tmp_path):
    fei = corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif"  # 471 rows, the last 29 the data bar
    raw = tifffile.imread(fei)
    nexus = tmp_path / "fei.nxs"
    convert(fei, nexus)
    for path in (fei, nexus):
        _open(panel, qtbot, path)
        toggle = panel.data_bar.button
        assert panel.image_view.image.shape == (442, 512)  # the header's ResolutionY
        assert toggle.isEnabled()
        assert not toggle.isChecked()
        toggle.click()
        shown = panel.image_view.image
        assert shown.shape == (471, 512)
        assert np.array_equal(shown[442:], raw[442:])  # the instrument's own bar, as it burnt it
        assert panel.frame.shape == (442, 512)  # the tools still measure the image only
        toggle.click()
        assert panel.image_view.image.shape == (442, 512)
    _open(panel, qtbot, corpus_tiff_dir / "TVIPS_bin4.tif")
    assert not panel.data_bar.button.isEnabled()
    assert "no data bar" in panel.data_bar.button.toolTip()


def _export(panel, qtbot, path):
    with qtbot.waitSignal(panel.export.exported, timeout=30_000) as done:
        panel.export.export_to(path)
    return Path(done.args[0])


def _read_png(path: Path) -> np.ndarray:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert not image.isNull()
    lines = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    width, height = image.width(), image.height()
    rows = lines.reshape(height, image.bytesPerLine())[:, : 3 * width]
    return rows.reshape(height, width, 3).copy()  # the QImage's buffer goes with it


def test_the_exported_png_is_the_view_with_its_scale_bar(panel, qtbot, tmp_path):
    path, image = _calibrated(tmp_path)
    _open(panel, qtbot, path)
    panel.colour_map.setCurrentText("viridis")
    exported = _export(panel, qtbot, tmp_path / "view.png")
    reference = tmp_path / "any-new-file"
    reference.write_bytes(b"")
    assert exported.stat().st_mode & 0o777 == reference.stat().st_mode & 0o777  # not private
    written = _read_png(exported)
    assert written.shape == (200, 300, 3)
    # The image part is the colour map over the levels shown: viridis's dark end at the left.
    lut = panel.image_view.ui.histogram.gradient.getLookupTable(512, alpha=False)
    low, high = panel.image_view.getImageItem().getLevels()
    index = np.minimum((np.clip((image - low) / (high - low), 0, 1) * 512).astype(int), 511)
    expected = lut[index][..., :3].astype(int)
    outside_bar = np.abs(written.astype(int) - expected).max(axis=2) <= 2
    outside_bar[150:, 200:] = True  # the bar's corner, checked below
    assert outside_bar.all()  # every other pixel is the image as shown, nothing stray
    # The scale bar is burnt in, bottom right: white pixels where the image has none.
    corner = written[150:, 200:]
    white = np.all(corner >= 250, axis=2)
    assert white.sum() > 40
    assert not np.all(image >= 250)
    # Zoomed in: the part on screen is what is exported, at the file's pixels.
    panel.image_view.getView().setRange(
        xRange=(100 * 2.5 * NM, 200 * 2.5 * NM), yRange=(50 * 2.5 * NM, 150 * 2.5 * NM), padding=0
    )
    (x0, x1), (y0, y1) = panel.image_view.getView().viewRange()  # widened to the view's aspect
    zoomed = _read_png(_export(panel, qtbot, tmp_path / "zoom.png"))
    expected = [min(n, (b - a) / (2.5 * NM)) for n, (a, b) in ((200, (y0, y1)), (300, (x0, x1)))]
    assert zoomed.shape[:2] == pytest.approx(expected, abs=2)
    assert min(zoomed.shape[:2]) < 150


def test_the_exported_tiff_keeps_the_pixel_size_for_fiji(panel, qtbot, tmp_path, corpus_tiff_dir):
    path, _ = _calibrated(tmp_path)
    _open(panel, qtbot, path)
    tiff = _export(panel, qtbot, tmp_path / "view.tif")
    assert _pixel_size(tiff) == pytest.approx(2.5e-9, rel=0.002)
    # An FEI file's micrometre pixels, its data bar shown: all 471 rows go out.
    _open(panel, qtbot, corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif")
    panel.data_bar.button.click()
    fei = _export(panel, qtbot, tmp_path / "fei.tif")
    assert _pixel_size(fei) == pytest.approx(3.3724e-6, rel=0.002)
    assert tifffile.imread(fei).shape == (471, 512, 3)


def _pixel_size(path: Path) -> float:
    """Metres per pixel as Fiji reads it: XResolution pixels per the ImageJ `unit`."""
    with tifffile.TiffFile(path) as tif:
        numerator, denominator = tif.pages[0].tags["XResolution"].value
        unit = tif.imagej_metadata["unit"]
    per_unit = {"nm": 1e-9, "micron": 1e-6, "um": 1e-6, "µm": 1e-6}[unit]
    return denominator / numerator * per_unit


def _fake_tool(folder: Path, name: str) -> Path:
    """An executable that writes its arguments to `<name>.argv` beside it and exits."""
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{folder}/{name}.argv"\n')
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return folder / f"{name}.argv"


def test_open_in_fiji_and_napari_when_they_are_installed(
    qtbot, tmp_path, monkeypatch, corpus_tiff_dir
):
    """A launcher test: Fiji and napari are GUI applications not installed on this machine, so
    tiny executables under their names stand in for them on PATH and record their arguments.
    What is checked is lamefair's part: finding them, which file they get, starting them."""
    tools = tmp_path / "bin"
    fiji_argv, napari_argv = _fake_tool(tools, "ImageJ-linux64"), _fake_tool(tools, "napari")
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}/usr/bin{os.pathsep}/bin")
    panel = PreviewPanel()
    qtbot.addWidget(panel)
    fei = corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif"
    fiji, napari = panel.viewers.buttons["Fiji"], panel.viewers.buttons["napari"]
    _open(panel, qtbot, fei)
    qtbot.waitUntil(lambda: fiji.isEnabled() and napari.isEnabled(), timeout=30_000)
    assert "FEI-Helios-Ebeam-16bits.tif in Fiji" in fiji.toolTip()
    with qtbot.waitSignal(panel.viewers.launched, timeout=30_000):
        fiji.click()
    qtbot.waitUntil(fiji_argv.exists, timeout=10_000)
    assert fiji_argv.read_text().splitlines() == [str(fei)]  # the raw TIFF itself

    nexus = tmp_path / "fei.nxs"
    convert(fei, nexus)
    _open(panel, qtbot, nexus)
    qtbot.waitUntil(lambda: "a TIFF of it" in napari.toolTip(), timeout=30_000)
    with qtbot.waitSignal(panel.viewers.launched, timeout=30_000):
        napari.click()
    qtbot.waitUntil(napari_argv.exists, timeout=10_000)
    (given,) = napari_argv.read_text().splitlines()
    assert given.endswith("fei.tif")  # napari cannot read the .nxs: a TIFF of its image
    assert tifffile.imread(given).shape == (442, 512)
    assert _pixel_size(Path(given)) == pytest.approx(3.3724e-6, rel=0.002)

    # Neither on PATH: disabled, saying how to install them; Fiji from the settings' path.
    monkeypatch.setenv("PATH", f"{tmp_path / 'empty'}")
    with qtbot.waitSignal(panel.viewers.found, timeout=30_000):
        panel.viewers.refresh()
    assert not fiji.isEnabled()
    assert "fiji.sc" in fiji.toolTip()
    assert not napari.isEnabled()
    assert "pip install" in napari.toolTip()
    Settings(fiji_path=str(tools)).save()
    with qtbot.waitSignal(panel.viewers.found, timeout=30_000):
        panel.viewers.refresh()
    assert fiji.isEnabled()
    qtbot.waitUntil(lambda: not panel.viewers.jobs.jobs)
    panel.close_file()
