"""Measure a distance, as with Fiji's straight line and Analyze › Measure: drag on the image to draw
a line (or drag its ends); its length and angle read beside it, in the image's calibrated units
(nm, µm, nm⁻¹ for a diffraction pattern), or in pixels, said so, when the file states no scale.

The angle is Fiji's: degrees counter-clockwise from the image's x axis, with the image's rows
going down the screen. While the ruler is on, a left-drag on the image draws a new line instead
of panning; the middle button still pans and the wheel zooms.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QPushButton

RULER_COLOUR = "#ff9f1c"  # orange: apart from the profile's yellow and the rectangle's cyan


class Ruler:
    def __init__(self, image_view: pg.ImageView, describe: Callable[[float], str]) -> None:
        self.image_view = image_view
        self._describe = describe  # a length in view units, as text ("1.25 µm", "12 px")
        self.line: pg.LineSegmentROI | None = None
        self.label = pg.TextItem("", color=RULER_COLOUR, fill=pg.mkBrush(0, 0, 0, 170))
        self.label.setZValue(20)
        self.length = 0.0  # in view units (metres, nm⁻¹, or pixels)
        self.angle = 0.0  # degrees, Fiji's convention
        self.text = ""
        self.button = QPushButton("Ruler")
        self.button.setCheckable(True)
        self.button.setToolTip(
            "Measure a distance: drag on the image to draw a line, or drag its ends; its length "
            "(in the image's calibrated units) and angle show beside it"
        )
        self.button.toggled.connect(self._toggle)
        view = image_view.getView()
        self._pan = view.mouseDragEvent  # the view's own drag, restored when the ruler is off

    def put_away(self) -> None:
        self.button.setChecked(False)

    def _toggle(self, on: bool) -> None:
        view = self.image_view.getView()
        if self.line is not None:
            view.removeItem(self.line)
            view.removeItem(self.label)
            self.line = None
        self.text = ""
        if not on or self.image_view.image is None:
            view.mouseDragEvent = self._pan
            if on:
                self.button.setChecked(False)  # nothing to measure yet
            return
        item = self.image_view.getImageItem()
        extent = item.mapRectToParent(item.boundingRect())
        x, y, w, h = extent.x(), extent.y(), extent.width(), extent.height()
        self.line = pg.LineSegmentROI(
            [(x + 0.3 * w, y + 0.7 * h), (x + 0.7 * w, y + 0.7 * h)],
            pen=pg.mkPen(RULER_COLOUR, width=2),
        )
        view.addItem(self.line)
        view.addItem(self.label, ignoreBounds=True)
        self.line.sigRegionChanged.connect(self._update)
        view.mouseDragEvent = self._drag
        self._update()

    def set_ends(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        """Put the line's ends at these points, in view units (what a drag does)."""
        if self.line is None:
            return
        first, second = self.line.getHandles()
        self.line.movePoint(first, QPointF(*start), coords="parent", finish=False)
        self.line.movePoint(second, QPointF(*end), coords="parent")

    def _drag(self, event, axis=None) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.line is None:
            self._pan(event, axis)
            return
        event.accept()
        view = self.image_view.getView()
        start = view.mapSceneToView(event.buttonDownScenePos())
        end = view.mapSceneToView(event.scenePos())
        self.set_ends((start.x(), start.y()), (end.x(), end.y()))

    def ends(self) -> tuple[QPointF, QPointF]:
        first, second = (self.line.mapToParent(h.pos()) for h in self.line.getHandles())
        return first, second

    def _update(self) -> None:
        if self.line is None:
            return
        first, second = self.ends()
        dx, dy = second.x() - first.x(), second.y() - first.y()
        self.length = math.hypot(dx, dy)
        # Rows go down the screen: Fiji's angles count counter-clockwise as seen.
        self.angle = math.degrees(math.atan2(-dy, dx)) if self.length else 0.0
        length = self._describe(self.length)
        if length.endswith(" px"):
            length += " (uncalibrated)"
        self.text = f"{length}, {self.angle:.1f}°"
        self.label.setText(self.text)
        self.label.setPos(second)
