"""File › Export view…: the preview as it is on screen, saved as PNG or TIFF with the scale bar
burnt in, for a slide or a paper.

"As on screen" means the part of the image in view (at the file's own pixels, not the screen's),
with the current black and white levels and colour map, the data bar only if it is shown, and a
scale bar sized for the part exported. The TIFF keeps the physical pixel size as ImageJ writes it
(X/YResolution per unit, and `unit=` in its description), so Fiji opens it with the scale set.

The UI thread only takes the snapshot (a view into the array already shown, the levels and the
look-up table); colouring, drawing the bar (QPainter on a QImage, which Qt allows off the UI
thread) and writing run on a worker.
"""

from __future__ import annotations

import math
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import tifffile
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QFileDialog, QPushButton, QWidget

from lamefair_desktop.nexus.png import encode_png
from lamefair_desktop.nexus.preview import PreviewInfo
from lamefair_desktop.ui.panels.scale_bar import bar_for
from lamefair_desktop.workers.job import JobGroup

FILTERS = "PNG image (*.png);;TIFF image, scale kept for Fiji (*.tif *.tiff)"


@dataclass(frozen=True)
class ViewSnapshot:
    pixels: np.ndarray  # the part in view, as shown: (rows, columns) or (rows, columns, channels)
    levels: tuple[float, float]
    lut: np.ndarray | None  # (n, 3) uint8 colour map of a grey image; None for colour images
    pixel_x: float | None  # SI (m, or 1/m for diffraction); None when uncalibrated
    pixel_y: float | None
    unit: str  # "m", "1/m" or "px"


def snapshot_of(image_view: pg.ImageView, info: PreviewInfo) -> ViewSnapshot | None:
    """What the view shows now; None when it shows nothing. Cheap: no pixel is copied."""
    data = image_view.image
    if data is None or info is None:
        return None
    item = image_view.getImageItem()
    (x0, x1), (y0, y1) = image_view.getView().viewRange()
    # View units per pixel, from the item's own transform (metres, nm⁻¹ or pixels).
    scale_x, scale_y = item.transform().m11() or 1.0, item.transform().m22() or 1.0
    rows, columns = data.shape[:2]
    c0, c1 = max(0, math.floor(x0 / scale_x)), min(columns, math.ceil(x1 / scale_x))
    r0, r1 = max(0, math.floor(y0 / scale_y)), min(rows, math.ceil(y1 / scale_y))
    if c1 <= c0 or r1 <= r0:
        r0, r1, c0, c1 = 0, rows, 0, columns  # looking beside the image: export all of it
    low, high = item.getLevels() if item.getLevels() is not None else (data.min(), data.max())
    colour = data.ndim == 3
    lut = None if colour else image_view.ui.histogram.gradient.getLookupTable(512, alpha=False)
    calibrated = info.pixel_x is not None and info.pixel_y is not None
    return ViewSnapshot(
        # The shown array is never changed in place (a new frame is a new array): a view is safe.
        pixels=data[r0:r1, c0:c1],
        levels=(float(np.min(low)), float(np.max(high))),
        lut=None if lut is None else np.asarray(lut, np.uint8)[:, :3],
        pixel_x=info.pixel_x if calibrated else None,
        pixel_y=info.pixel_y if calibrated else None,
        unit=info.unit if calibrated else "px",
    )


def render_view(snapshot: ViewSnapshot) -> np.ndarray:
    """(rows, columns, 3) uint8: the levels and colour map applied, the scale bar drawn."""
    low, high = snapshot.levels
    values = np.asarray(snapshot.pixels, dtype=np.float64)
    scaled = np.clip((values - low) / ((high - low) or 1.0), 0.0, 1.0)
    scaled = np.nan_to_num(scaled, nan=0.0)  # NaN pixels show black, as on screen
    if snapshot.lut is None:  # colour: levels on every channel, as pyqtgraph shows it
        rgb = np.round(scaled[..., :3] * 255).astype(np.uint8)
    else:
        index = np.minimum((scaled * len(snapshot.lut)).astype(np.intp), len(snapshot.lut) - 1)
        rgb = snapshot.lut[index]
    rgb = np.ascontiguousarray(rgb)
    if snapshot.pixel_x is not None:
        rgb = _burn_scale_bar(rgb, snapshot.pixel_x, snapshot.unit)
    return rgb


def _burn_scale_bar(rgb: np.ndarray, pixel_x: float, unit: str) -> np.ndarray:
    """The on-screen look, sized for the image: a white bar outlined in black, bottom right, its
    label in white on a dark box above it."""
    rows, columns = rgb.shape[:2]
    length, label = bar_for(columns, pixel_x, unit)
    thickness = max(3, round(columns / 85))
    margin = max(4, round(columns / 40))
    image = QImage(rgb.data, columns, rows, 3 * columns, QImage.Format.Format_RGB888).copy()
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        bar = QRectF(columns - margin - length, rows - margin - thickness, length, thickness)
        painter.setPen(QPen(QColor("black"), max(1.0, thickness / 6)))
        painter.setBrush(QColor("white"))
        painter.drawRect(bar)
        font = QFont()
        font.setPixelSize(max(9, round(columns / 32)))
        painter.setFont(font)
        text = QFontMetricsF(font).boundingRect(label)
        pad = font.pixelSize() / 4
        box = QRectF(0, 0, text.width() + 2 * pad, text.height() + pad)
        box.moveCenter(bar.center())
        box.moveBottom(bar.top() - thickness / 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRect(box)
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
    finally:
        painter.end()
    lines = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    # Copied out: the QImage's buffer is freed with it when this function returns (a view into
    # it read the allocator's garbage: stray dark lines across the export).
    return (
        lines.reshape(rows, image.bytesPerLine())[:, : 3 * columns].reshape(rows, columns, 3).copy()
    )


def imagej_scale(pixel: float, unit: str) -> tuple[float, str]:
    """A pixel's size in the unit Fiji will show (nm below a micrometre, else µm; nm⁻¹)."""
    if unit == "1/m":
        return pixel * 1e-9, "1/nm"
    if pixel < 1e-6:
        return pixel * 1e9, "nm"
    return pixel * 1e6, "micron"  # ImageJ's own word; Fiji shows µm


def write_view(snapshot: ViewSnapshot, path: Path) -> Path:
    """Render and write (atomically: a temporary file beside it, then a rename)."""
    rgb = render_view(snapshot)
    tiff = path.suffix.lower() in (".tif", ".tiff")
    # Not mkstemp: its file is private (0600); an exported picture gets the umask's permissions.
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        if not tiff:
            temporary.write_bytes(encode_png(rgb))
        elif snapshot.pixel_x is None:
            tifffile.imwrite(temporary, rgb, photometric="rgb", imagej=True)
        else:
            size_x, unit = imagej_scale(snapshot.pixel_x, snapshot.unit)
            size_y, _ = imagej_scale(snapshot.pixel_y, snapshot.unit)
            tifffile.imwrite(
                temporary,
                rgb,
                photometric="rgb",
                imagej=True,
                resolution=(1.0 / size_x, 1.0 / size_y),
                metadata={"unit": unit},
            )
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def with_format(path: str, chosen_filter: str) -> Path:
    """The name typed, with .png or .tif added from the chosen filter when it has neither."""
    target = Path(path)
    if target.suffix.lower() not in (".png", ".tif", ".tiff"):
        target = target.with_name(target.name + (".tif" if "TIFF" in chosen_filter else ".png"))
    return target


class ViewExport(QObject):
    """The button and the File menu's action; `export_to` writes on a worker."""

    exported = Signal(str)  # the path written
    failed = Signal(str)  # a message for people

    def __init__(self, snapshot, parent: QWidget) -> None:
        super().__init__(parent)
        self._snapshot = snapshot  # () -> ViewSnapshot | None, on the UI thread
        self._parent = parent
        self.jobs = JobGroup(self.failed.emit)
        self.suggested_name = "view.png"
        self.folder = Path.home()
        self.button = QPushButton("Export view…")
        tip = "Save what is shown as PNG or TIFF, levels and colour map applied, scale bar burnt in"
        self.button.setToolTip(tip)
        self.button.clicked.connect(self.choose)
        self.action = QAction("&Export view…", parent)
        self.action.setToolTip(tip)
        self.action.triggered.connect(self.choose)
        self.set_enabled(False)

    def set_enabled(self, on: bool) -> None:
        self.button.setEnabled(on)
        self.action.setEnabled(on)
        if not on:
            self.button.setToolTip("Open an image first: the view is what gets exported")

    def choose(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self._parent, "Export the view", str(self.folder / self.suggested_name), FILTERS
        )
        if path:
            self.export_to(with_format(path, chosen))

    def export_to(self, path: str | Path) -> None:
        path = Path(path)
        snapshot = self._snapshot()
        if snapshot is None:
            self.failed.emit("Nothing to export: open an image first.")
            return
        self.folder = path.parent
        self.jobs.run(
            lambda: str(write_view(snapshot, path)),
            self.exported.emit,
            lambda message, _details: self.failed.emit(f"Could not export to {path}: {message}"),
        )
