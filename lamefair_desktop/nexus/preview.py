"""Image data for previews, without Qt: a frame as a numpy array, its pixel size, its metadata.

Works for vendor TIFFs, DigitalMicrograph and Velox EMD files (their first image), and NeXus files. NeXus files are read lazily with h5py slicing; the image is
the NXdata `signal` found by following `default` attributes, else the first NXdata.
Colour images come as (rows, columns, channels) frames from both, whatever the file's layout
(NXem stores the channels first).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from lamefair_desktop.nexus.errors import NexusEngineError
from lamefair_desktop.nexus.formats import is_native
from lamefair_desktop.nexus.png import decode_png
from lamefair_desktop.nexus.sources import open_source

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass(frozen=True)
class PreviewInfo:
    kind: str  # "tiff": a vendor file (TIFF, DM, EMD) with flat metadata; "nexus": a tree
    title: str
    frames: int
    frame_shape: tuple[int, int]
    dtype: str
    pixel_y: float | None
    pixel_x: float | None
    unit: str  # "m", "1/m" or "px"
    channels: int = 1  # 3 (RGB) or 4 (RGBA): frames are (rows, columns, channels)


class Preview:
    """An open file for preview; `frame(i)` reads one frame only. Use as a context manager."""

    def __init__(
        self, info: PreviewInfo, reader, closer, metadata, origin: Any = None, databar=None
    ) -> None:
        self.info = info
        self._databar = databar  # () -> the vendor's data bar below the image, or None
        self._reader = reader
        self._closer = closer
        self._metadata = metadata
        # The open vendor source (TiffSource, NativeSource) or h5py.File, for the acquisition
        # summary; read it only where this preview's frames are read (one thread at a time).
        self.origin = origin

    def frame(self, index: int = 0) -> np.ndarray:
        if not 0 <= index < self.info.frames:
            raise IndexError(f"frame {index + 1} of {self.info.frames}")
        return np.asarray(self._reader(index))

    def databar(self) -> np.ndarray | None:
        """The rows the vendor burnt in below the (first) image, apart from it: the raw TIFF's
        rows past the header's image height, or the NeXus entry's `databar` note."""
        found = self._databar() if self._databar is not None else None
        return None if found is None else np.asarray(found)

    def metadata(self) -> dict[str, Any]:
        """Flattened TIFF tags, or the NeXus tree (groups with NX_class, fields, attributes)."""
        return self._metadata()

    def value_at(
        self, frame: int, row: int, column: int
    ) -> tuple[float, float, float | tuple[float, ...]]:
        """(y, x) in physical units (pixels when uncalibrated) and the pixel value (a tuple of
        channel values for colour images)."""
        pixel = np.asarray(self.frame(frame)[row, column])
        value = float(pixel) if pixel.ndim == 0 else tuple(float(v) for v in pixel)
        y = row * self.info.pixel_y if self.info.pixel_y else float(row)
        x = column * self.info.pixel_x if self.info.pixel_x else float(column)
        return y, x, value

    def close(self) -> None:
        self._closer()

    def __enter__(self) -> Preview:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_preview(path: str | Path) -> Preview:
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            signature = handle.read(8)
    except OSError as exc:
        raise NexusEngineError(f"{path}: cannot be opened ({exc.strerror}).") from exc
    if signature == HDF5_SIGNATURE and not is_native(path):  # Velox EMD is HDF5 too
        return _nexus_preview(path)
    return _source_preview(open_source(path))


def _source_preview(tiff: Any) -> Preview:
    """A vendor file's (first) image: a TiffSource or a NativeSource."""
    calibration = tiff.calibration
    label = f", {tiff.label}" if tiff.label and tiff.extra_images else ""
    info = PreviewInfo(
        kind="tiff",
        title=f"{tiff.path.name} ({tiff.format_label}{label})",
        frames=tiff.frame_count,
        frame_shape=tiff.frame_shape,
        dtype=str(tiff.dtype),
        pixel_y=calibration.pixel_y if calibration.calibrated else None,
        pixel_x=calibration.pixel_x if calibration.calibrated else None,
        unit=calibration.unit if calibration.calibrated else "px",
        channels=tiff.channels,
    )

    return Preview(
        info, tiff.frame, tiff.close, lambda: dict(tiff.metadata), tiff, lambda: tiff.databar(0)
    )


def _attr_text(node: h5py.HLObject, name: str) -> str:
    value = node.attrs.get(name, "")
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return value.decode() if isinstance(value, bytes) else str(value)


def find_signal(handle: h5py.File) -> h5py.Group:
    """The NXdata to show: follow `default` attributes from the root, else the first NXdata."""
    node: h5py.Group = handle
    while True:
        default = _attr_text(node, "default")
        if not default or default not in node or not isinstance(node[default], h5py.Group):
            break
        node = node[default]
        if _attr_text(node, "NX_class") == "NXdata":
            return node
    found: list[h5py.Group] = []

    def visit(_: str, obj: h5py.HLObject) -> None:
        if not found and isinstance(obj, h5py.Group) and _attr_text(obj, "NX_class") == "NXdata":
            found.append(obj)

    handle.visititems(visit)
    if not found:
        raise NexusEngineError(f"{handle.filename}: no NXdata group with an image.")
    return found[0]


def _axis_pitch(data: h5py.Group, name: str) -> tuple[float | None, str]:
    if name not in data or len(data[name]) < 2:
        return None, "px"
    unit = _attr_text(data[name], "units") or "px"
    first, second = data[name][0], data[name][1]
    return (float(second - first) if unit != "px" else None), unit


def _colour_channels(data: h5py.Group, axes: list[str], ndim: int) -> int:
    """Channels of a colour signal (its axis before the rows is a colour channel), else 1."""
    if len(axes) != ndim or ndim < 3 or axes[-3] not in data:
        return 1
    axis = data[axes[-3]]
    if not _attr_text(axis, "long_name").startswith("colour channel") or len(axis) > 4:
        return 1
    return len(axis)


def _nexus_preview(path: Path) -> Preview:
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise NexusEngineError(f"{path.name} is not a readable NeXus file ({exc}).") from exc
    try:
        data = find_signal(handle)
        signal = _attr_text(data, "signal")
        dataset = data[signal]
        axes = [a.decode() if isinstance(a, bytes) else str(a) for a in data.attrs.get("axes", [])]
        channels = _colour_channels(data, axes, dataset.ndim)
        if dataset.ndim - (channels > 1) not in (2, 3):
            raise NexusEngineError(f"{path.name}: the signal has {dataset.ndim} dimensions.")
        pitch_y, unit = _axis_pitch(data, axes[-2]) if len(axes) >= 2 else (None, "px")
        pitch_x, _ = _axis_pitch(data, axes[-1]) if axes else (None, "px")
    except (KeyError, NexusEngineError):
        handle.close()
        raise
    stacked = dataset.ndim - (channels > 1) == 3
    frames = dataset.shape[0] if stacked else 1
    info = PreviewInfo(
        kind="nexus",
        title=f"{path.name} ({data.name})",
        frames=frames,
        frame_shape=tuple(dataset.shape[-2:]),
        dtype=str(dataset.dtype),
        pixel_y=pitch_y,
        pixel_x=pitch_x,
        unit=unit if pitch_x and pitch_y else "px",
        channels=channels,
    )

    def read(index: int) -> np.ndarray:
        frame = dataset[index] if stacked else dataset[()]
        return np.moveaxis(frame, 0, -1) if channels > 1 else frame

    return Preview(
        info, read, handle.close, lambda: nexus_tree(handle), handle, lambda: _databar_note(data)
    )


def _databar_note(data: h5py.Group) -> np.ndarray | None:
    """The data bar the writer kept as a PNG in an NXnote `databar` of the signal's entry."""
    group = data.parent
    while group.name != "/":
        note = group.get("databar")
        if isinstance(note, h5py.Group) and "data" in note:
            kind = note["type"][()] if "type" in note else b""
            if (kind.decode() if isinstance(kind, bytes) else str(kind)) == "image/png":
                try:
                    return decode_png(bytes(note["data"][()]))
                except ValueError:
                    return None  # a note someone else wrote: the image is shown without it
        group = group.parent
    return None


def nexus_tree(group: h5py.Group, max_values: int = 16) -> dict[str, Any]:
    """Groups (with NX_class), fields (small values inline, large ones as shape) and attributes."""
    tree: dict[str, Any] = {"@" + k: _plain(v) for k, v in group.attrs.items()}
    for name, node in group.items():
        if isinstance(node, h5py.Group):
            tree[name] = nexus_tree(node, max_values)
        else:
            entry: dict[str, Any] = {"@" + k: _plain(v) for k, v in node.attrs.items()}
            if node.size <= max_values:
                entry["value"] = _plain(node[()])
            else:
                entry["value"] = f"<{node.dtype} {list(node.shape)}>"
            tree[name] = entry
    return tree


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | np.bytes_):
        text = bytes(value)
        if text.startswith(b"\x89PNG"):
            return f"<PNG image, {len(text)} bytes>"
        return text.decode("utf-8", "replace") if len(text) < 4096 else f"<{len(text)} bytes>"
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value
