"""Measuring in the preview, as staff do in Fiji: a line profile and a rectangle with its mean,
standard deviation, minimum and maximum, sizes in physical units.

pyqtgraph's ROIs live in the view's coordinates, which the panel sets to physical units (metres,
or nm⁻¹ for diffraction patterns); the panel's `describe` turns them into text in those units. The
numbers are computed on the UI thread from the frame already in memory: a profile or a region of
a frame is small, and dragging must answer at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

# The frame axes for getArrayRegion on a row-major image. RectROI takes (rows, columns) as its
# docstring says; LineSegmentROI's own sampling wants them the other way round, or it samples the
# transposed frame (a profile across a step read zeros past the image's height). The test of
# both tools checks each against a known step image.
RECT_AXES = (0, 1)
LINE_AXES = (1, 0)


def region_stats(values: np.ndarray) -> tuple[float, float, float, float] | None:
    """(mean, std, min, max) of the finite values, None when there are none."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None
    return float(finite.mean()), float(finite.std()), float(finite.min()), float(finite.max())


class MeasureTools:
    """The toolbar's Profile and Rectangle buttons, the profile plot and the statistics line."""

    def __init__(self, image_view: pg.ImageView, describe: Callable[[float], str]) -> None:
        self.image_view = image_view
        self._describe = describe  # a length in view units, as text ("1.25 µm")
        self.frame: np.ndarray | None = None
        self.line: pg.LineSegmentROI | None = None
        self.rect: pg.RectROI | None = None
        self.profile_button = QPushButton("Line profile")
        self.profile_button.setCheckable(True)
        self.profile_button.setToolTip("Drag the line's ends: the plot shows the values along it")
        self.profile_button.toggled.connect(self._toggle_line)
        self.rect_button = QPushButton("Rectangle")
        self.rect_button.setCheckable(True)
        self.rect_button.setToolTip("Mean, standard deviation, minimum and maximum inside it")
        self.rect_button.toggled.connect(self._toggle_rect)
        self.plot = pg.PlotWidget()
        self.plot.setMaximumHeight(160)
        self.plot.setLabel("left", "value")
        self.plot.hide()
        self.curve = self.plot.plot([], [])
        self.stats = QLabel("")
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stats.hide()
        self.profile: tuple[np.ndarray, np.ndarray] | None = None  # (distance, values)

    def set_frame(self, frame: np.ndarray, keep: bool) -> None:
        """A new frame is shown; `keep` False (another file) puts the tools back in its middle."""
        self.frame = frame if frame.ndim == 2 else frame.mean(axis=-1)
        if not keep:
            for button in (self.profile_button, self.rect_button):
                button.setChecked(False)
        self._update_line()
        self._update_rect()

    # --- line profile -------------------------------------------------------------------------

    def _extent(self) -> tuple[float, float]:
        """The shown image's width and height in view units."""
        rect = self.image_view.getImageItem().mapRectToParent(
            self.image_view.getImageItem().boundingRect()
        )
        return rect.width(), rect.height()

    def _toggle_line(self, on: bool) -> None:
        view = self.image_view.getView()
        if self.line is not None:
            view.removeItem(self.line)
            self.line = None
        self.plot.setVisible(on)
        if on and self.frame is not None:
            width, height = self._extent()
            self.line = pg.LineSegmentROI(
                [(0.2 * width, 0.5 * height), (0.8 * width, 0.5 * height)],
                pen=pg.mkPen("y", width=2),
            )
            view.addItem(self.line)
            self.line.sigRegionChanged.connect(self._update_line)
            self._update_line()

    def _update_line(self) -> None:
        if self.line is None or self.frame is None:
            return
        values = self.line.getArrayRegion(
            self.frame, self.image_view.getImageItem(), axes=LINE_AXES
        )
        ends = [self.line.mapToParent(handle.pos()) for handle in self.line.getHandles()]
        length = float(np.hypot(ends[1].x() - ends[0].x(), ends[1].y() - ends[0].y()))
        distance = np.linspace(0.0, length, len(values)) if len(values) else np.array([])
        self.profile = (distance, np.asarray(values, dtype=np.float64))
        # Plot in the unit the length reads in ("3.579 µm": micrometres), not pyqtgraph's x1e-06.
        text = self._describe(length)
        number, _, unit = text.partition(" ")
        scale = float(number) / length if length and float(number) else 1.0
        self.curve.setData(distance * scale, self.profile[1])
        self.plot.setLabel("bottom", f"distance along the line ({unit}), {text} in all")

    # --- rectangle ----------------------------------------------------------------------------

    def _toggle_rect(self, on: bool) -> None:
        view = self.image_view.getView()
        if self.rect is not None:
            view.removeItem(self.rect)
            self.rect = None
        self.stats.setVisible(on)
        if on and self.frame is not None:
            width, height = self._extent()
            self.rect = pg.RectROI(
                (0.35 * width, 0.35 * height),
                (0.3 * width, 0.3 * height),
                pen=pg.mkPen("c", width=2),
            )
            view.addItem(self.rect)
            self.rect.sigRegionChanged.connect(self._update_rect)
            self._update_rect()

    def _update_rect(self) -> None:
        if self.rect is None or self.frame is None:
            return
        # Nearest pixel (order 0): the statistics are of the pixels, not of interpolated values.
        image = self.image_view.getImageItem()
        region = self.rect.getArrayRegion(self.frame, image, axes=RECT_AXES, order=0)
        found = region_stats(region) if region is not None else None
        size = self.rect.size()
        where = f"{self._describe(size.x())} × {self._describe(size.y())}"
        if found is None:
            self.stats.setText(f"Rectangle {where}: outside the image")
            return
        mean, std, low, high = found
        rows, columns = region.shape[:2]
        self.stats.setText(
            f"Rectangle {where} ({columns} × {rows} px): mean {mean:.4g}, std {std:.4g}, "
            f"min {low:.4g}, max {high:.4g}"
        )
