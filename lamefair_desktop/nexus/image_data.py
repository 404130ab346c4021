"""The image itself in NXem: an NXimage with one NXdata whose shape follows the image kind.

| kind                | NXdata    | signal `real`                        | axes                                  |
| grey image          | image_2d  | (rows, columns)                      | axis_j, axis_i                        |
| grey stack          | stack_2d  | (frames, rows, columns)              | indices_image, axis_j, axis_i         |
| colour image        | image_3d  | (channels, rows, columns)            | axis_k (colour channel), axis_j, axis_i |
| colour stack        | stack_3d  | (frames, channels, rows, columns)    | indices_image, axis_k, axis_j, axis_i |

Colour channels come first, not last as in the TIFF: NXimage's groups name the axes in the order
k, j, i and the validator checks each axis against that dimension; NeXus's `interpretation`
attribute (`rgb-image`) would want channels last but is undocumented for NXem in strict mode.
Channel-first also lets any HDF5 viewer show each channel as a plain image.

Frames stream one at a time (one HDF5 chunk per frame), so memory stays near one frame.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from lamefair_desktop.nexus import frame_copy
from lamefair_desktop.nexus.calibration_notes import describe
from lamefair_desktop.nexus.mapping import Mapping
from lamefair_desktop.nexus.png import encode_png

CHANNEL_NAMES = ("red", "green", "blue", "alpha")


def data_group_name(frames: int, channels: int) -> str:
    if channels > 1:
        return "stack_3d" if frames > 1 else "image_3d"
    return "stack_2d" if frames > 1 else "image_2d"


def start_copy(
    w: Any,
    image_path: str,
    tiff: Any,
    progress: Callable[[int, int], None] | None,
    cancel: threading.Event | None,
) -> None:
    """When the file holds the frame's bytes as the dataset will, create the dataset now and copy
    them file to file on a thread (frame_copy) while the rest of the entry is written; the writer
    waits for it before closing. Called first, so that the copy starts as early as it can."""
    copyable = frame_copy.AVAILABLE and hasattr(tiff, "stored_frame")  # TIFFs, not DM/EMD
    stored = tiff.stored_frame() if copyable else None
    if stored is None or (cancel is not None and cancel.is_set()):
        return
    w.group(image_path, "NXimage")
    data = w.group(f"{image_path}/{data_group_name(1, 1)}", "NXdata")
    signal = w.allocated_dataset(data, "real", tiff.frame_shape, tiff.dtype)
    offset = signal.id.get_offset()
    done = (lambda: progress(1, 1)) if progress is not None else None
    w.defer(frame_copy.FrameCopy(tiff.path, *stored, w.file.filename, offset, done))


def write_image(
    w: Any,  # writer._Writer (not imported: the writer imports this module)
    image_path: str,
    tiff: Any,  # TiffSource or NativeSource
    mapping: Mapping,
    progress: Callable[[int, int], None] | None,
    cancel: threading.Event | None,
) -> None:
    frames, channels = tiff.frame_count, tiff.channels
    rows, columns = tiff.frame_shape
    image = w.group(image_path, "NXimage")
    kind = data_group_name(frames, channels)
    w.attr(image, "default", kind)
    data_path = f"{image_path}/{kind}"
    data = w.group(data_path, "NXdata")
    title = f"{tiff.path.name} ({tiff.label})" if tiff.label else tiff.path.name
    w.field(f"{data_path}/title", title)
    w.attr(data, "signal", "real")
    plane = (channels, rows, columns) if channels > 1 else (rows, columns)
    shape = (frames, *plane) if frames > 1 else plane
    # One chunk per frame: readers (our preview included) fetch a frame with one chunk read.
    chunks = (1, *plane) if frames > 1 else None
    copied = "real" in data  # start_copy made it and copies its bytes
    if copied:
        signal = data["real"]
    else:
        signal = data.create_dataset("real", shape=shape, dtype=tiff.dtype, chunks=chunks)
    w.attr(signal, "long_name", _signal_name(mapping, channels))
    for index in range(0 if copied else frames):
        if cancel is not None and cancel.is_set():
            return
        frame = tiff.frame(index)
        if channels > 1:
            frame = np.moveaxis(frame, -1, 0)
        if frames > 1:
            signal[index] = frame
        else:
            signal[...] = frame
        if progress is not None:
            progress(index + 1, frames)

    axes = _write_axes(w, data_path, tiff)
    if channels > 1:
        names = ", ".join(f"{i} {CHANNEL_NAMES[i]}" for i in range(channels))
        channel = np.arange(channels, dtype=np.uint8)
        w.field(f"{data_path}/axis_k", channel, long_name=f"colour channel ({names})")
        axes = ["axis_k", *axes]
    if frames > 1:
        indices = np.arange(frames, dtype=np.int64)
        w.field(f"{data_path}/indices_image", indices, long_name="frame")
        axes = ["indices_image", *axes]
    data.attrs["axes"] = axes
    for position, axis in enumerate(axes):
        w.attr(data, f"{axis}_indices", np.uint64(position))


def _signal_name(mapping: Mapping, channels: int) -> str:
    if channels > 1:
        return f"Colour ({', '.join(CHANNEL_NAMES[:channels])}) intensity (counts)"
    if mapping.signal_kind == "diffraction":
        return "Diffracted intensity (counts)"
    return "Intensity (counts)"


def _write_axes(w: Any, data_path: str, tiff: Any) -> list[str]:
    rows, columns = tiff.frame_shape
    calibration = tiff.calibration
    reciprocal = calibration.unit == "1/m"
    names = {"axis_i": "x", "axis_j": "y"}
    axes = ["axis_j", "axis_i"]
    sizes = {"axis_j": (rows, calibration.pixel_y), "axis_i": (columns, calibration.pixel_x)}
    for axis in axes:
        count, pitch = sizes[axis]
        if calibration.calibrated:
            values = np.arange(count, dtype=np.float64) * pitch
            unit = calibration.unit
            label = f"k_{names[axis]} ({unit})" if reciprocal else f"{names[axis]} ({unit})"
        else:
            values = np.arange(count, dtype=np.float64)
            unit = "px"
            label = f"{names[axis]} (pixel, uncalibrated)"
        w.field(f"{data_path}/{axis}", values, units=unit, long_name=label)
    return axes


def input_context(tiff: Any) -> str:
    """What of the source file the image holds, in words (NXimage/process/input/context)."""
    what = f"{tiff.label} of {tiff.path.name}" if tiff.label else tiff.path.name
    parts = [f"frames of {what}, unmodified"]
    layout = tiff.layout
    if layout and layout.databar_rows:
        parts.append(
            f"image rows 0-{layout.rows - 1} of each page as {layout.databar_source} states; "
            f"the {layout.databar_rows} rows below are the vendor's data bar, kept apart in the "
            "entry's 'databar' note"
        )
    if tiff.channels > 1:
        parts.append("colour channels moved first (channel, row, column)")
    parts += list(tiff.skipped_pages)
    return "; ".join(parts)


def describe_palette(palette: np.ndarray) -> str:
    """Why the image holds palette indices, not the palette's colours.

    Zeiss SmartSEM, for one, writes a grey ramp whose entries at a few indices are replaced by
    the colours of its annotations: applying the palette would paint sample pixels of those grey
    levels red or blue. The indices are the grey levels the detector gave."""
    entries = palette.shape[1]
    coloured = np.nonzero((palette[0] != palette[1]) | (palette[1] != palette[2]))[0]
    text = (
        f"The image holds the stored palette indices (0-{entries - 1}), not colours. "
        "This is the TIFF ColorMap, 16-bit red, green and blue per index"
    )
    if len(coloured):
        shown = ", ".join(str(i) for i in coloured[:8]) + (", ..." if len(coloured) > 8 else "")
        return text + (
            f"; {len(coloured)} of its entries are colours (indices {shown}), the rest grey: "
            "a grey image with colours reserved for the software's annotations."
        )
    return text + "; every entry is grey, so the indices order grey levels."


def write_image_notes(w: Any, image_path: str, tiff: Any) -> None:
    """Notes on the image: its scale's origin, its data bar, its palette."""
    note = f"{image_path}/process/calibration"
    w.group(note, "NXnote")
    w.field(f"{note}/type", "text/plain")
    w.field(f"{note}/description", describe(tiff.calibration, tiff.flavour, tiff.metadata))

    palette = tiff.palette
    if palette is not None:
        note = f"{image_path}/process/palette"
        w.group(note, "NXnote")
        w.field(f"{note}/type", "application/json")
        w.field(f"{note}/file_name", f"{tiff.path.stem}-palette.json")
        w.field(f"{note}/description", describe_palette(palette))
        red, green, blue = (channel.tolist() for channel in palette)
        w.field(f"{note}/data", np.bytes_(json.dumps({"red": red, "green": green, "blue": blue})))

    databar = tiff.databar()
    if databar is not None and not w.entry.get("databar"):
        w.group("databar", "NXnote")
        w.field("databar/type", "image/png")
        w.field("databar/file_name", f"{tiff.path.stem}-databar.png")
        w.field(
            "databar/description",
            f"The vendor's data bar: the {tiff.layout.databar_rows} rows below the image in "
            f"{tiff.path.name} (first page), as a lossless PNG. Burnt in by the microscope software, "
            "it is not part of the sample's image.",
        )
        w.field("databar/data", np.bytes_(encode_png(databar)))
