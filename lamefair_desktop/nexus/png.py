"""A minimal lossless PNG encoder (grey, RGB, RGBA; 8 or 16 bits), with zlib only.

Used for the small images kept in NXnote `data` fields (NX_BINARY). HDF5 stores those as
fixed-length byte strings, which lose trailing NUL bytes on reading; a PNG always ends with its
IEND chunk's CRC (AE 42 60 82), so it survives the round trip, and any image viewer opens it.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_COLOUR_TYPE = {1: 0, 3: 2, 4: 6}  # grey, RGB, RGBA


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a (rows, columns) or (rows, columns, 3|4) uint8/uint16 array."""
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG holds 8- or 16-bit unsigned samples, not {image.dtype}")
    channels = 1 if image.ndim == 2 else image.shape[2]
    rows, columns = image.shape[:2]
    samples = np.ascontiguousarray(image, dtype=image.dtype.newbyteorder(">"))
    raw = samples.reshape(rows, -1).view(np.uint8)
    # Filter type 0 (none) at the start of each row.
    scanlines = np.hstack([np.zeros((rows, 1), np.uint8), raw]).tobytes()
    header = struct.pack(
        ">IIBBBBB", columns, rows, image.dtype.itemsize * 8, _COLOUR_TYPE[channels], 0, 0, 0
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(scanlines, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
