"""A minimal lossless PNG encoder (grey, RGB, RGBA; 8 or 16 bits), with zlib only, and the decoder
of what it writes (the preview shows a NeXus file's data bar from its note).

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


def decode_png(data: bytes) -> np.ndarray:
    """The array `encode_png` made: grey, RGB or RGBA, 8 or 16 bits, not interlaced, filter 0 on
    every row. Other PNGs raise ValueError (lamefair writes only these)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("not a PNG image")
    position, header, compressed = 8, b"", []
    while position + 8 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed.append(body)
        elif kind == b"IEND":
            break
    if len(header) != 13:
        raise ValueError("a PNG without its IHDR header")
    columns, rows, bits, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    channels = {value: key for key, value in _COLOUR_TYPE.items()}.get(colour)
    if channels is None or bits not in (8, 16) or interlace:
        raise ValueError(f"a PNG of colour type {colour}, {bits} bits: not one lamefair writes")
    dtype = np.dtype(">u1" if bits == 8 else ">u2")
    row_bytes = 1 + columns * channels * dtype.itemsize
    raw = np.frombuffer(zlib.decompress(b"".join(compressed)), np.uint8)
    if raw.size != rows * row_bytes:
        raise ValueError("a PNG whose image data is cut short")
    lines = raw.reshape(rows, row_bytes)
    if lines[:, 0].any():
        raise ValueError("a PNG with filtered rows: not one lamefair writes")
    samples = np.ascontiguousarray(lines[:, 1:]).view(dtype).astype(dtype.newbyteorder("="))
    return samples.reshape(rows, columns) if channels == 1 else samples.reshape(rows, columns, -1)


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
