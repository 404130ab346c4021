"""Small PNG thumbnails of an image file (no Qt): written at conversion next to the `.nxs`, and
made locally for the upload dialog's rows.

The first frame of any file the preview opens (vendor TIFF, DM, EMD, NeXus), stretched with the
preview's robust auto-levels (nexus/levels.py) so a 16-bit image with hot pixels is not black,
reduced to at most THUMBNAIL_SIDE pixels on its longest side. The readers already leave out an FEI
data bar (it is not part of the image); palette images show their palette's colours, RGB images
stay in colour. Encoded with our own PNG writer (nexus/png.py): numpy and zlib only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lamefair_desktop.nexus.levels import robust_levels
from lamefair_desktop.nexus.png import encode_png
from lamefair_desktop.nexus.preview import open_preview

THUMBNAIL_SIDE = 256


def render_thumbnail(path: str | Path, side: int = THUMBNAIL_SIDE) -> bytes:
    """PNG bytes of the first frame of `path`, longest side `side` pixels.

    Raises NexusEngineError (with the file's name) when the file is no image we read."""
    with open_preview(path) as preview:
        frame = preview.frame(0)
        palette = getattr(preview.origin, "palette", None)
        return encode_png(thumbnail_pixels(frame, palette, side))


def thumbnail_pixels(
    frame: np.ndarray, palette: np.ndarray | None = None, side: int = THUMBNAIL_SIDE
) -> np.ndarray:
    """8-bit grey (rows, columns) or RGB (rows, columns, 3) pixels of a frame, resized so its
    longest side is `side` (box-averaged down, repeated up), levels stretched robustly."""
    frame = np.asarray(frame)
    if frame.dtype.kind == "c":
        frame = np.abs(frame)
    if palette is not None and frame.ndim == 2 and frame.dtype.kind in "ui":
        frame = _apply_palette(frame, palette)
    elif frame.ndim == 3:
        frame = frame[..., :3]  # alpha dropped: a thumbnail shows the image, not its mask
    return _resize(_to_bytes(frame), side)


def _apply_palette(indices: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """A palette image's colours as 8-bit RGB (or grey, when the palette is a grey ramp)."""
    colours = np.asarray(palette)
    lut = (colours.T >> 8).astype(np.uint8) if colours.dtype.itemsize > 1 else colours.T
    rgb = lut[np.clip(indices, 0, len(lut) - 1)]
    if np.array_equal(lut[:, 0], lut[:, 1]) and np.array_equal(lut[:, 1], lut[:, 2]):
        return rgb[..., 0]
    return rgb


def _to_bytes(frame: np.ndarray) -> np.ndarray:
    """Levels stretched to 0-255; 8-bit colour is already what it should look like."""
    if frame.ndim == 3 and frame.dtype == np.uint8:
        return frame
    levels, _ = robust_levels(frame)
    if levels is None:  # nothing finite: a black thumbnail, honestly empty
        return np.zeros(frame.shape, np.uint8)
    low, high = levels
    scaled = (frame.astype(np.float32) - low) * (255.0 / (high - low))
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _resize(image: np.ndarray, side: int) -> np.ndarray:
    rows, columns = image.shape[:2]
    longest = max(rows, columns)
    factor = max(1, longest // side)
    if factor > 1:  # box average: a noisy image does not alias into speckle
        cut_rows, cut_columns = rows - rows % factor, columns - columns % factor
        blocks = image[:cut_rows, :cut_columns].astype(np.float32)
        shape = (cut_rows // factor, factor, cut_columns // factor, factor, *image.shape[2:])
        image = blocks.reshape(shape).mean(axis=(1, 3)).round().astype(np.uint8)
        rows, columns = image.shape[:2]
        longest = max(rows, columns)
    if longest == side:
        return image
    scale = side / longest
    target_rows, target_columns = max(1, round(rows * scale)), max(1, round(columns * scale))
    pick_rows = np.minimum((np.arange(target_rows) / scale).astype(int), rows - 1)
    pick_columns = np.minimum((np.arange(target_columns) / scale).astype(int), columns - 1)
    return np.ascontiguousarray(image[pick_rows][:, pick_columns])
