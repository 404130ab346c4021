"""Write small Gatan DigitalMicrograph files (.dm3 and .dm4) for tests: no real ones are shared.

The format is a tree of tag groups (documented by Gatan's DM scripting help and, in detail, by
the readers of rosettasciio and openNCEM): a header (version, file size, byte order), then the
root group. Each tag is a group (20) or data (21) with a name; data carries an "info array" of
type codes and then its values. Structure fields (sizes, counts, type codes) are big-endian and
4 bytes in DM3, 8 bytes in DM4; values are in the byte order the header states (little here).

A Python value becomes: dict -> named group, list of dicts -> unnamed groups, list of scalars ->
unnamed data tags, str -> array of UTF-16 code units (as DigitalMicrograph stores text), bool,
int, float -> simple data, numpy array -> array of its type (how image pixels are stored).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

# numpy dtype -> DM tag type code (simple types)
_TAG_TYPES = {
    np.dtype("<i2"): 2,
    np.dtype("<i4"): 3,
    np.dtype("<u2"): 4,
    np.dtype("<u4"): 5,
    np.dtype("<f4"): 6,
    np.dtype("<f8"): 7,
    np.dtype("bool"): 8,
    np.dtype("<i1"): 9,
    np.dtype("<u1"): 10,
    np.dtype("<i8"): 11,
    np.dtype("<u8"): 12,
}
# numpy dtype -> DM image data type (ImageData.DataType)
IMAGE_TYPES = {
    np.dtype("<i2"): 1,
    np.dtype("<f4"): 2,
    np.dtype("<u1"): 6,
    np.dtype("<i4"): 7,
    np.dtype("<i1"): 9,
    np.dtype("<u2"): 10,
    np.dtype("<u4"): 11,
    np.dtype("<f8"): 12,
}


class _Encoder:
    def __init__(self, version: int) -> None:
        self.version = version
        self.size = ">Q" if version == 4 else ">L"

    def number(self, value: int) -> bytes:
        return struct.pack(self.size, value)

    def group_body(self, items: list[tuple[str, Any]]) -> bytes:
        body = b"\x00\x01" + self.number(len(items))  # not sorted, open
        for name, value in items:
            body += self.tag(name, value)
        return body

    def tag(self, name: str, value: Any) -> bytes:
        label = name.encode("latin-1")
        if isinstance(value, dict):
            kind, payload = 20, self._sized(self.group_body(list(value.items())))
        elif isinstance(value, list):  # unnamed groups or unnamed data tags
            kind, payload = 20, self._sized(self.group_body([("", item) for item in value]))
        else:
            kind, payload = 21, self._data(value)
        return struct.pack(">bH", kind, len(label)) + label + payload

    def _sized(self, group: bytes) -> bytes:
        # A DM4 group states its length in bytes (after is_sorted/is_open in the reader's view;
        # readers skip it, so the length of the whole body is good enough here).
        if self.version == 4:
            return group[:2] + self.number(len(group)) + group[2:]
        return group

    def _data(self, value: Any) -> bytes:
        if isinstance(value, str):
            units = np.frombuffer(value.encode("utf-16-le"), "<u2")
            info, values = [20, 4, len(units)], units.tobytes()
        elif isinstance(value, np.ndarray):
            array = np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<"))
            info, values = [20, _TAG_TYPES[array.dtype], array.size], array.tobytes()
        elif isinstance(value, bool):
            info, values = [8], struct.pack("<?", value)
        elif isinstance(value, int):
            info, values = [3], struct.pack("<l", value)
        elif isinstance(value, float):
            info, values = [7], struct.pack("<d", value)
        else:
            raise TypeError(f"no DM tag type for {value!r}")
        head = b"%%%%" + self.number(len(info)) + b"".join(self.number(i) for i in info)
        body = head + values
        if self.version == 4:
            body = self.number(len(body)) + body
        return body


def write_dm(path: Path, tags: dict[str, Any], version: int = 3) -> Path:
    """Write `tags` (the root group) as a DM3 or DM4 file."""
    encoder = _Encoder(version)
    root = encoder.group_body(list(tags.items()))
    size = struct.calcsize(encoder.size)
    total = 4 + size + 4 + len(root) + 8
    header = struct.pack(">L", version) + encoder.number(total) + struct.pack(">L", 1)
    path.write_bytes(header + root + b"\x00" * 8)
    return path


def image_tags(
    data: np.ndarray,
    *,
    scale: float,
    unit: str,
    name: str = "image",
    tags: dict[str, Any] | None = None,
    frame_scale: float = 1.0,
    frame_unit: str = "",
) -> dict[str, Any]:
    """One ImageList entry as DigitalMicrograph writes it: pixels, dimensions (x first), a
    calibration per dimension, and the image's tags (microscope state, data bar). A (rows,
    columns, 3) uint8 array is an RGB image: one 4-byte B, G, R, A record per pixel (type 23)."""
    data_type = IMAGE_TYPES.get(data.dtype)
    if data.ndim == 3 and data.shape[-1] == 3 and data.dtype == np.uint8:
        records = np.zeros((*data.shape[:2], 4), np.uint8)
        records[..., 0], records[..., 1], records[..., 2] = data[..., 2], data[..., 1], data[..., 0]
        data, data_type = records.view("<u4")[..., 0], 23
    dimensions = [int(n) for n in data.shape[::-1]]
    calibrations = [{"Origin": 0.0, "Scale": float(scale), "Units": unit} for _ in range(2)]
    if data.ndim == 3:
        calibrations.append({"Origin": 0.0, "Scale": float(frame_scale), "Units": frame_unit})
    return {
        "ImageData": {
            "Calibrations": {
                "Brightness": {"Origin": 0.0, "Scale": 1.0, "Units": "counts"},
                "Dimension": calibrations,
                "DisplayCalibratedUnits": True,
            },
            "Data": data,
            "DataType": data_type,
            "Dimensions": dimensions,
            "PixelDepth": int(data.dtype.itemsize),
        },
        "ImageTags": tags or {},
        "Name": name,
        "UniqueID": {"0": 1, "1": 2, "2": 3, "3": 4},
    }


def dm_file_tags(image: dict[str, Any]) -> dict[str, Any]:
    """A file's root: a thumbnail first (as DigitalMicrograph saves), then the image."""
    thumbnail = image_tags(np.zeros((8, 8), np.uint8), scale=1.0, unit="", name="thumbnail")
    return {
        "ApplicationBounds": [0, 0, 800, 1200],
        "ImageList": [thumbnail, image],
        "Thumbnails": [{"ImageIndex": 0, "SourceSize_Pixels": [8, 8]}],
        "InImageMode": True,
    }
