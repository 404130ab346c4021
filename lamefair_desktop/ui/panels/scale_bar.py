"""The preview's scale bar, on screen and burnt into an exported view: one length rule, one label.

A bar is 1, 2 or 5 times a power of ten, about a fifth of the width shown, so that both read the
same round numbers. Reciprocal lengths (diffraction) read in nm⁻¹, as microscopists write them.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from lamefair_desktop.nexus.display import format_length
from lamefair_desktop.nexus.preview import PreviewInfo


def reciprocal(text: str) -> str:
    """Reciprocal lengths as microscopists write them on screen (nm⁻¹; the CLI keeps 1/nm)."""
    return text.replace("1/nm", "nm⁻¹").replace("1/µm", "µm⁻¹").replace("1/mm", "mm⁻¹")


def nice_length(length: float) -> float:
    """1, 2 or 5 times a power of ten, at most `length` (scale bar sizes people read easily)."""
    if length <= 0:
        return 1.0
    exponent = np.floor(np.log10(length))
    base = 10**exponent
    for step in (5, 2, 1):
        if step * base <= length:
            return float(step * base)
    return float(base)


def bar_for(columns: int, pixel_x: float, unit: str) -> tuple[float, str]:
    """(length in pixels, label) of the bar for an image `columns` pixels wide."""
    size = nice_length(columns * pixel_x / 5)  # in SI units (m or 1/m)
    return size / pixel_x, reciprocal(format_length(size, unit, precision=3))


def make_scale_bar(info: PreviewInfo, scene_pitch: float, view: pg.ViewBox) -> pg.ScaleBar:
    """A white bar outlined in black, its label on a dark box: readable on bright and dark
    images alike. `scene_pitch` is one pixel's width in the view's units."""
    pixels, label = bar_for(info.frame_shape[1], info.pixel_x, info.unit)
    bar = pg.ScaleBar(
        size=pixels * scene_pitch, width=6, brush=pg.mkBrush("w"), pen=pg.mkPen("k", width=1)
    )
    bar.text.setText(label, color="w")
    bar.text.fill = pg.mkBrush(0, 0, 0, 170)
    bar.text.border = pg.mkPen(None)
    bar.setParentItem(view)
    bar.anchor((1, 1), (1, 1), offset=(-20, -20))
    return bar


def remove_scale_bar(bar: pg.ScaleBar | None) -> None:
    # Attached with setParentItem, so it leaves its scene directly (not the view's items).
    if bar is not None and bar.scene() is not None:
        bar.scene().removeItem(bar)
