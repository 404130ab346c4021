"""Pixels of the PNGs lamefair writes (8-bit grey or RGB, filter 0 on every row), read back."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def png_pixels(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert depth == 8, depth
    assert colour in (0, 2), colour
    channels = 3 if colour == 2 else 1
    data, at = b"", 8
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at : at + 8])
        if kind == b"IDAT":
            data += png[at + 8 : at + 8 + length]
        at += 12 + length
    rows = np.frombuffer(zlib.decompress(data), np.uint8).reshape(height, 1 + width * channels)
    assert not rows[:, 0].any(), "a row filter other than none"
    pixels = rows[:, 1:].reshape(height, width, channels)
    return pixels[..., 0] if channels == 1 else pixels
