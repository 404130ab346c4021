"""Read Gatan DigitalMicrograph (.dm3, .dm4) and Velox EMD (.emd) files through rosettasciio.

rosettasciio is HyperSpy's reader library, kept by the people who read these formats every day
(pynxtools-em uses it too); it parses DM's tag tree and Velox's HDF5 layout and JSON metadata,
and gives each image with its axes (scale and unit per dimension). It is GPL-3, so it is an
optional extra imported here only (see `formats.py`).

Frames are read lazily (rosettasciio's dask arrays over a memory map or the HDF5 dataset), one at
a time, so a stack costs about one frame of memory. What is converted:
- every image of the file (a DM file's thumbnail excepted; each Velox detector's image or stack),
  the first as the main image, the others as further images of the same entry;
- stacks and DM spectrum images (energy planes) as stacks of frames, with the image calibration;
- Velox's spectrum data (EDS spectrum images and streams, EELS, single spectra) is not converted
  (the file's images are, every frame of them), and the notes say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lamefair_desktop.nexus.calibration import Calibration
from lamefair_desktop.nexus.calibration_notes import finite_axes
from lamefair_desktop.nexus.errors import SourceReadError, require_content
from lamefair_desktop.nexus.flatten import flatten
from lamefair_desktop.nexus.formats import DM_SUFFIXES
from lamefair_desktop.nexus.tiff_reader import MAX_STACK_FRAME_BYTES, SUPPORTED_KINDS
from lamefair_desktop.nexus.units import UnknownUnit, to_si

INSTALL_HINT = (
    "install the optional reader with `pip install lamefair[tem-formats]` (rosettasciio, GPL-3)"
)
FORMAT_LABELS = {
    "digitalmicrograph": "Gatan DigitalMicrograph",
    "velox": "Thermo Fisher Velox EMD",
    "emd_berkeley": "Berkeley EMD",
}
MEDIA_TYPES = {
    "digitalmicrograph": "application/x-gatan-dm",
    "velox": "application/x-hdf5",
    "emd_berkeley": "application/x-hdf5",
}


@dataclass
class NativeSource:
    """One image (or stack) of a DM or EMD file, with the same face as TiffSource; the file's
    other images are in `extra_images`. Use as a context manager."""

    path: Path
    flavour: str
    metadata: dict[str, Any]
    shape: tuple[int, ...]  # (frames, rows, columns) or (rows, columns)
    dtype: np.dtype
    calibration: Calibration
    label: str  # the detector or the image's name, as the file gives it
    _data: Any = field(repr=False)  # lazy array, (frames, rows, columns) or (rows, columns)
    _closers: list = field(repr=False, default_factory=list)
    extra_images: tuple[NativeSource, ...] = ()
    skipped_pages: tuple[str, ...] = ()  # parts of the file not converted, in words
    layout: None = None  # no data bar, grey only
    palette: None = None
    channels: int = 1

    @property
    def format_label(self) -> str:
        suffix = self.path.suffix.lower()
        version = f" {suffix[1:].upper()}" if suffix in DM_SUFFIXES else ""
        return f"{FORMAT_LABELS[self.flavour]}{version} file"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.flavour]

    @property
    def frame_count(self) -> int:
        return self.shape[0] if len(self.shape) == 3 else 1

    @property
    def frame_shape(self) -> tuple[int, int]:
        return self.shape[-2], self.shape[-1]

    def frame(self, index: int = 0) -> np.ndarray:
        if not 0 <= index < self.frame_count:
            raise IndexError(f"{self.path.name} has {self.frame_count} frame(s), not {index + 1}")
        part = self._data[index] if len(self.shape) == 3 else self._data
        try:
            return np.asarray(part.compute() if hasattr(part, "compute") else part)
        except Exception as exc:  # noqa: BLE001 - the readers raise many kinds on damaged data
            raise SourceReadError(
                f"{self.path.name}: frame {index + 1} of {self.label} cannot be read ({exc}); "
                "the file may be truncated or damaged."
            ) from exc

    def databar(self, index: int = 0) -> None:
        return None

    def close(self) -> None:
        for closer in self._closers:
            closer()
        self._closers.clear()

    def __enter__(self) -> NativeSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_native(path: str | Path) -> NativeSource:
    """Open a .dm3/.dm4/.emd file; SourceReadError (naming the file and what to do) otherwise."""
    path = Path(path)
    require_content(path, SourceReadError)
    dm = path.suffix.lower() in DM_SUFFIXES
    try:
        if dm:
            from rsciio.digitalmicrograph import file_reader
        else:
            from rsciio.emd import file_reader
    except ImportError as exc:
        raise SourceReadError(
            f"{path.name}: reading {path.suffix.lower()} files needs rosettasciio, which cannot "
            f"be imported here ({exc}); {INSTALL_HINT}."
        ) from exc
    try:
        if dm:
            flavour = "digitalmicrograph"
            try:
                signals = file_reader(str(path), lazy=True)
            except ValueError as exc:
                if "RGBA" not in str(exc):
                    raise
                signals = file_reader(str(path), lazy=False)  # colour images: read whole
        else:
            flavour = "velox" if _is_velox(path) else "emd_berkeley"
            if flavour == "velox":
                signals = _velox_images(path)
            else:
                signals = file_reader(str(path), lazy=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure is this file's problem
        kind = FORMAT_LABELS["digitalmicrograph"] if dm else "EMD (Velox or Berkeley)"
        raise SourceReadError(
            f"{path.name} is not a readable {kind} file ({exc.__class__.__name__}: {exc}). "
            "Check that it is complete and was saved by the vendor's software."
        ) from exc
    closers = [_file_closer(signal["data"]) for signal in signals]
    try:
        images, refused = [], []
        for signal in signals:
            if not _is_image(signal):
                refused.append(f"{_label(signal)}: a spectrum, not converted")
                continue
            try:
                images.append(_image(path, flavour, signal))
            except SourceReadError as exc:
                refused.append(f"{_label(signal)}: not converted, {exc}")
        if not images:
            why = "; ".join(refused) or "no image"
            raise SourceReadError(f"{path.name}: nothing to convert ({why}).")
    except BaseException:
        for closer in closers:
            closer()
        raise
    skipped = tuple(refused) + _velox_spectrum_stream(path, flavour)
    first = images[0]
    first.extra_images = tuple(images[1:])
    first.skipped_pages = skipped
    first._closers = closers
    return first


def _is_image(signal: dict) -> bool:
    return getattr(signal["data"], "ndim", 0) >= 2


def _label(signal: dict) -> str:
    general = signal.get("metadata", {}).get("General", {})
    return str(general.get("title") or "image")


def _image(path: Path, flavour: str, signal: dict) -> NativeSource:
    data, axes = signal["data"], signal["axes"]
    label = _label(signal)
    dtype = np.dtype(data.dtype)
    channels = 1
    if dtype.names and set("RGB") <= set(dtype.names):
        # DigitalMicrograph's RGB images: one record per pixel; its alpha byte is unused (0).
        data = np.stack([data[name] for name in "RGB"], axis=-1)
        dtype, channels = data.dtype, 3
    if dtype.kind not in SUPPORTED_KINDS:
        raise SourceReadError(
            f"{path.name}: {label} holds {dtype} values (complex or colour data, e.g. an FFT or "
            "DPC image); lamefair converts integer and floating-point images"
        )
    if channels > 1:
        rows, columns = int(data.shape[-3]), int(data.shape[-2])
        if data.ndim != 3:
            raise SourceReadError(f"{path.name}: {label} is a colour stack; not converted yet")
        return NativeSource(
            path=path,
            flavour=flavour,
            metadata=_metadata(signal),
            shape=(rows, columns),
            dtype=dtype,
            calibration=finite_axes(_calibration(axes, label), rows, columns),
            label=label,
            _data=data,
            channels=channels,
        )
    rows, columns = int(data.shape[-2]), int(data.shape[-1])
    if data.ndim > 3:
        data = data.reshape((-1, rows, columns))  # e.g. a 4D-STEM scan: one frame per position
    frames = int(data.shape[0]) if data.ndim == 3 else 1
    shape = (frames, rows, columns) if data.ndim == 3 else (rows, columns)
    if frames > 1 and rows * columns * dtype.itemsize > MAX_STACK_FRAME_BYTES:
        raise SourceReadError(
            f"{path.name}: the frames of {label} are over 4 GiB each; lamefair converts stacks "
            "whose frames are below 4 GiB."
        )
    calibration = finite_axes(_calibration(axes, label), rows, columns)
    return NativeSource(
        path=path,
        flavour=flavour,
        metadata=_metadata(signal),
        shape=shape,
        dtype=dtype,
        calibration=calibration,
        label=label,
        _data=data,
    )


def _metadata(signal: dict) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    flatten(_plain(signal.get("original_metadata", {})), "", metadata)
    return metadata


def _calibration(axes: list[dict], label: str) -> Calibration:
    """The pixel size of the image's two last axes (y, x), in SI units, from the file."""
    if len(axes) < 2:
        return Calibration(source=f"{label}: the file gives no axes")
    y, x = axes[-2], axes[-1]
    unit_y, unit_x = str(y.get("units") or ""), str(x.get("units") or "")
    source = f"{label}: axis scale {x.get('scale')!r} {unit_x or '(no unit)'}"
    if not unit_x or not unit_y:
        return Calibration(source=f"{source}, no physical unit stated")
    try:
        pitch_x, si = to_si(float(x["scale"]), unit_x)
        pitch_y, si_y = to_si(float(y["scale"]), unit_y)
    except (UnknownUnit, TypeError, ValueError, KeyError):
        return Calibration(source=f"{source}, not understood")
    if si != si_y or si not in ("m", "1/m"):
        return Calibration(source=f"{source}, not a length or a reciprocal length")
    if not all(math.isfinite(p) and p > 0 for p in (pitch_x, pitch_y)):
        return Calibration(source=f"{source}, not a usable pixel size")
    return Calibration(pitch_y, pitch_x, si, source=f"{label}: the file's axis calibration")


def _plain(value: Any) -> Any:
    """rosettasciio's metadata as plain dicts (it uses python-box for DM files)."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if k != "root" or v}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _file_closer(data: Any):
    """A function closing the HDF5 file behind a lazy Velox array (rosettasciio leaves it open
    while the array lives); DM arrays are memory maps, released with the array."""
    files = []
    graph = getattr(data, "dask", None)
    if graph is not None:
        import h5py

        files = [v.file for v in dict(graph).values() if isinstance(v, h5py.Dataset)]

    def close() -> None:
        for handle in files:
            if handle.id.valid:
                handle.close()

    return close


def _is_velox(path: Path) -> bool:
    """Velox files say so in their `Version` JSON (`"format": "Velox"`)."""
    import h5py

    with h5py.File(path, "r") as handle:
        version = handle.get("Version")
        if version is None:
            return False
        return b'"Velox"' in bytes(np.asarray(version).ravel()[0]).replace(b" ", b"")


def _velox_images(path: Path) -> list[dict]:
    """rosettasciio's Velox reader, images only (lazily, every frame of each stack).

    For a file that holds an EDS spectrum image, rosettasciio insists on the `sparse` package
    (with numba, about 150 MB) even when only the images are asked for, and reads only the first
    frame of their stacks. Read as an image file, the same reader gives the images whole and
    leaves the spectrum stream alone, which lamefair does not convert (`_spectrum_streams` says
    so in the file). FeiEMDReader is the class behind rosettasciio's public `emd.file_reader`."""
    import h5py
    from rsciio.emd._emd_velox import FeiEMDReader

    class _ImagesOnly(FeiEMDReader):
        def _check_im_type(self) -> None:
            super()._check_im_type()
            if self.im_type == "SpectrumStream":
                self.im_type = "Image"

    reader = _ImagesOnly(lazy=True, select_type="images")
    handle = h5py.File(path, "r")  # closed through the arrays' closers (see _file_closer)
    try:
        reader.read_file(handle)
    except BaseException:
        handle.close()
        raise
    if not reader.dictionaries:
        handle.close()
    return reader.dictionaries


def _velox_spectrum_stream(path: Path, flavour: str) -> tuple[str, ...]:
    """The spectrum data of a Velox file, which is not converted, in words."""
    if flavour != "velox":
        return ()
    import h5py

    found = []
    with h5py.File(path, "r") as handle:
        for group, what in (
            ("Data/SpectrumImage", "EDS spectrum image"),
            ("Data/SpectrumStream", "EDS spectrum stream"),
            ("Data/EelsSpectrumImage", "EELS spectrum image"),
            ("Data/Spectrum", "spectrum"),
        ):
            count = len(handle[group]) if group in handle else 0
            if count:
                found.append(f"{group} ({count} {what}{'s' if count > 1 else ''}): not converted")
    return tuple(found)
