"""How an image's size and pixel pitch read for people (no Qt): the preview window and
`lamefair inspect` print the same words.

Sizes are width × height (columns first, as people say them; numpy shapes are rows first). Lengths
get an SI prefix so the number stays between 1 and 1000 (3.372 µm, not 3.3724e-06 m); reciprocal
lengths (diffraction) are given per nanometre, the unit microscopists read them in.
"""

from __future__ import annotations

from lamefair_desktop.lengths import format_length
from lamefair_desktop.nexus.preview import PreviewInfo

__all__ = ["describe_image", "format_length"]


def describe_image(info: PreviewInfo) -> str:
    """One line: kind, width × height and type, pixel pitch and field of view when calibrated."""
    rows, columns = info.frame_shape
    frames = f"{info.frames} frames of " if info.frames > 1 else ""
    text = f"{info.title} — {frames}{columns} × {rows} px {info.dtype}"
    if info.pixel_x is None or info.pixel_y is None:
        return f"{text}, uncalibrated (pixels)"
    pitch = format_length(info.pixel_x, info.unit)
    if info.pixel_y != info.pixel_x:
        pitch = f"{pitch} × {format_length(info.pixel_y, info.unit)}"
    width = format_length(columns * info.pixel_x, info.unit)
    height = format_length(rows * info.pixel_y, info.unit)
    return f"{text}, pixel {pitch}, field {width} × {height}"
