"""Read vendor TIFFs: flavour, every piece of metadata (flattened), physical pixel size, frames.

Frames are read lazily, one page at a time (memory-mapped where the file allows), so a stack of
any length costs about one frame of memory.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from lamefair_desktop.nexus import image_kinds
from lamefair_desktop.nexus.calibration import Calibration, calibrate
from lamefair_desktop.nexus.calibration_notes import finite_axes
from lamefair_desktop.nexus.errors import TiffReadError, require_content
from lamefair_desktop.nexus.flatten import flatten, scalar

FLAVOURS = ("tvips", "jeol_sightx", "fei", "zeiss", "gatan_dm", "imagej", "generic")
FLAVOUR_LABELS = {
    "tvips": "TVIPS camera",
    "jeol_sightx": "JEOL SightX",
    "fei": "FEI / Thermo Fisher",
    "zeiss": "Zeiss SmartSEM",
    "gatan_dm": "Gatan DigitalMicrograph export",
    "imagej": "ImageJ",
    "generic": "generic TIFF",
}
# Data layout tags: not metadata, and long. Their presence is kept as a summary only.
_LAYOUT_TAGS = {
    "StripOffsets",
    "StripByteCounts",
    "TileOffsets",
    "TileByteCounts",
    "JPEGTables",
    "IJMetadataByteCounts",
}
_DM_TAGS = {65003, 65004, 65009, 65010}
SUPPORTED_KINDS = "biuf"  # bool, signed, unsigned, float
# How much each codec can shrink image data at most (deflate's ceiling is about 1032:1, TIFF's LZW
# about 1300:1). A header claiming more pixels than the file could hold is damaged or crafted, and
# believing it would allocate exabytes. Codecs without a known ceiling (JPEG, zstd) go unchecked.
_MAX_RATIO = {
    tifffile.COMPRESSION.NONE: 1,
    tifffile.COMPRESSION.PACKBITS: 64,
    tifffile.COMPRESSION.LZW: 1500,
    tifffile.COMPRESSION.ADOBE_DEFLATE: 1100,
    tifffile.COMPRESSION.DEFLATE: 1100,
}
# The NeXus writer makes each frame of a stack one HDF5 chunk, and HDF5 files in the format
# lamefair writes (v110, for older readers) hold chunks below 4 GiB.
MAX_STACK_FRAME_BYTES = 2**32 - 1


@dataclass
class TiffSource:
    """An open vendor TIFF. Use as a context manager; frames are read on demand."""

    path: Path
    flavour: str
    metadata: dict[str, Any]
    shape: tuple[int, ...]  # (frames, rows, columns) or (rows, columns), colour channels apart
    dtype: np.dtype
    calibration: Calibration
    _tif: tifffile.TiffFile = field(repr=False)
    _pages: list = field(repr=False, default_factory=list)
    layout: image_kinds.Layout | None = None  # channels and data bar (None: plain grey image)
    skipped_pages: tuple[str, ...] = ()  # pages not part of the image (thumbnails...), in words
    label: str = ""  # which pages these are, when the file holds several images ("pages 3-4")
    extra_images: tuple[TiffSource, ...] = ()  # other detectors' pages, each an image of its own
    media_type = "image/tiff"

    @property
    def format_label(self) -> str:
        return f"{FLAVOUR_LABELS[self.flavour]} TIFF"

    @property
    def channels(self) -> int:
        return self.layout.channels if self.layout else 1

    @property
    def palette(self) -> np.ndarray | None:
        """The ColorMap (3 x 2**bits, 16-bit R, G, B) of a palette image, else None."""
        page = self._pages[0]
        return page.colormap if page.photometric.name == "PALETTE" else None

    @property
    def frame_count(self) -> int:
        return self.shape[0] if len(self.shape) == 3 else 1

    @property
    def frame_shape(self) -> tuple[int, int]:
        return self.shape[-2], self.shape[-1]

    def frame(self, index: int = 0) -> np.ndarray:
        """Frame `index`: (rows, columns), or (rows, columns, channels) for colour images.

        Palette images give their indices, as stored; a vendor data bar is not included."""
        data = self._page_data(index)
        rows = self.frame_shape[0]
        return data[:rows] if data.shape[0] != rows else data

    def stored_frame(self) -> tuple[int, int] | None:
        """(offset, size) of the bytes of a single grey frame when the file stores them exactly as
        `frame(0)` returns them (uncompressed, one run, no predictor, this machine's byte order,
        no data bar): the NeXus writer then copies them file to file (frame_copy). Else None."""
        if self.frame_count != 1 or self.channels != 1 or len(self._pages) != 1:
            return None
        page = self._pages[0]
        try:
            if not page.is_final or page.samplesperpixel != 1 or page.dtype != self.dtype:
                return None
            if page.shape != self.frame_shape or page.nbytes != self.dtype.itemsize * page.size:
                return None
            native = "<" if sys.byteorder == "little" else ">"
            if self.dtype.itemsize > 1 and self._tif.byteorder != native:
                return None
            if not self._tif.filehandle.is_file:
                return None
            return int(page.dataoffsets[0]), int(page.nbytes)
        except Exception:  # an odd tag: the ordinary path decodes (and reports) it
            return None

    def databar(self, index: int = 0) -> np.ndarray | None:
        """The rows below the image that hold the vendor's data bar, or None."""
        if not self.layout or not self.layout.databar_rows:
            return None
        return self._page_data(index)[self.frame_shape[0] :]

    def _page_data(self, index: int) -> np.ndarray:
        if not 0 <= index < self.frame_count:
            raise IndexError(f"{self.path.name} has {self.frame_count} frame(s), not {index + 1}")
        try:
            if len(self._pages) == 1 and self.frame_count > 1:
                # ImageJ hyperstacks may live in one page-series; slice it lazily.
                data = self._tif.series[0].asarray(out="memmap")[index]
            else:
                data = self._pages[index].asarray()
        except Exception as exc:  # tifffile raises many kinds on damaged data
            raise TiffReadError(
                f"{self.path.name}: frame {index + 1} cannot be decoded ({exc}); "
                "the file may be truncated or damaged."
            ) from exc
        data = np.asarray(data)
        rows, columns = self.frame_shape
        shape = (rows + (self.layout.databar_rows if self.layout else 0), columns)
        if self.channels > 1:
            if data.ndim == 3 and data.shape[0] == self.channels != data.shape[-1]:
                data = np.moveaxis(data, 0, -1)  # planar (separate) samples
            shape = (*shape, self.channels)
        if data.shape != shape:
            data = data.reshape(shape)
        return data

    def close(self) -> None:
        self._tif.close()

    def __enter__(self) -> TiffSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_tiff(path: str | Path) -> TiffSource:
    """Open `path`; TiffReadError (naming the file and the problem) for anything unreadable."""
    path = Path(path)
    require_content(path, TiffReadError)
    try:
        tif = tifffile.TiffFile(path)
    except Exception as exc:
        raise TiffReadError(
            f"{path.name} is not a readable TIFF ({exc}). Check that it is a complete TIFF file."
        ) from exc
    try:
        return _describe(path, tif)
    except TiffReadError:
        tif.close()
        raise
    except Exception as exc:
        tif.close()
        raise TiffReadError(
            f"{path.name}: its TIFF structure is damaged ({exc.__class__.__name__}: {exc})."
        ) from exc


def _describe(path: Path, tif: tifffile.TiffFile) -> TiffSource:
    if not tif.pages:
        raise TiffReadError(f"{path.name} contains no image.")
    first = tif.pages.first
    series = tif.series[0] if tif.series else None
    main_group, groups, skipped = image_kinds.image_pages(tif)
    pages = main_group.pages
    if len(first.shape) < 2 or 0 in first.shape:
        raise TiffReadError(f"{path.name}: image has no pixels (shape {first.shape}).")
    metadata = read_metadata(tif)
    flavour = detect_flavour(tif, metadata)
    frames = len(pages)
    grey = first.samplesperpixel == 1
    if tif.is_imagej and series is not None and len(series.shape) >= 3 and grey:
        frames = int(np.prod(series.shape[:-2]))
    main = _image(path, tif, flavour, metadata, pages, frames)
    if groups:
        extras = []
        for number, group in enumerate(groups, start=2):
            image = _image(path, tif, flavour, read_metadata(tif, group.pages[0]), group.pages)
            image.label = group.label
            extras.append(image)
            skipped += (f"{group.label} (another image's shape): converted as image{number}",)
        main.label = main_group.label
        main.extra_images = tuple(extras)
    main.skipped_pages = skipped
    return main


def _image(
    path: Path,
    tif: tifffile.TiffFile,
    flavour: str,
    metadata: dict[str, Any],
    pages: list | tuple,
    frames: int | None = None,
) -> TiffSource:
    """The image made of `pages` (all of one shape), with the calibration their tags state."""
    page = pages[0]
    dtype = np.dtype(page.dtype) if page.dtype is not None else None
    if dtype is None or dtype.kind not in SUPPORTED_KINDS:
        raise TiffReadError(
            f"{path.name}: sample format {page.dtype} is not supported (only integer and "
            "floating-point samples)."
        )
    layout = image_kinds.layout(flavour, metadata, page, path.name)
    rows, columns = layout.rows, layout.columns
    frames = frames or len(pages)
    _check_claimed_size(path, tif, page, frames, dtype)
    shape = (frames, rows, columns) if frames > 1 else (rows, columns)
    calibration = finite_axes(calibrate(tif, flavour, metadata, columns), rows, columns)
    return TiffSource(
        path=path,
        flavour=flavour,
        metadata=metadata,
        shape=shape,
        dtype=dtype,
        calibration=calibration,
        _tif=tif,
        _pages=list(pages),
        layout=layout,
    )


def _check_claimed_size(
    path: Path, tif: tifffile.TiffFile, first: tifffile.TiffPage, frames: int, dtype: np.dtype
) -> None:
    """TiffReadError when the header claims more image data than the file can hold or we store."""
    rows, columns = image_kinds.page_rows_columns(first)
    bits = first.bitspersample * first.samplesperpixel
    stored = frames * rows * -(-columns * bits // 8)  # rows are padded to whole bytes
    actual = tif.filehandle.size
    ratio = _MAX_RATIO.get(first.compression)
    if ratio is not None and stored > actual * ratio:
        packed = "" if ratio == 1 else f" ({first.compression.name} data cannot expand that much)"
        raise TiffReadError(
            f"{path.name}: its header claims {frames} frame(s) of {columns} x {rows} pixels "
            f"({_bytes(stored)} of image data), but the file is only {_bytes(actual)}{packed}. "
            "The header is damaged or the file is not a genuine image."
        )
    frame_bytes = rows * columns * first.samplesperpixel * dtype.itemsize
    if frames > 1 and frame_bytes > MAX_STACK_FRAME_BYTES:
        raise TiffReadError(
            f"{path.name}: each of its {frames} frames is {columns} x {rows} pixels "
            f"({_bytes(frame_bytes)}); lamefair converts stacks whose frames are below 4 GiB each."
        )


def _bytes(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if count < 1024 or unit == "EiB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def read_metadata(tif: tifffile.TiffFile, page: tifffile.TiffPage | None = None) -> dict[str, Any]:
    """Every tag of `page` (the first), vendor blocks parsed, flattened to dotted keys."""
    out: dict[str, Any] = {}
    page = page or tif.pages.first
    for tag in page.tags.values():
        name = tag.name if not tag.name.isdigit() else f"tag_{tag.code}"
        try:
            value = tag.value
        except Exception as exc:  # a corrupt tag must not hide the others
            out[name] = f"<unreadable: {exc.__class__.__name__}>"
            continue
        if name in _LAYOUT_TAGS:
            count = len(value) if hasattr(value, "__len__") else 1
            out[name] = f"<{count} value{'' if count == 1 else 's'}>"
            continue
        if name == "ColorMap":
            out[name] = f"<palette {list(np.shape(value))}>"
            continue
        if name == "CZ_SEM" and isinstance(value, dict):
            value = _zeiss_entries(value)
        flatten(value, name, out)
    out["TIFF.pages"] = len(tif.pages)
    return out


def _zeiss_entries(block: dict) -> dict:
    """CZ_SEM entries are (label, value, unit) tuples; keep value, unit and label apart."""
    result: dict[str, Any] = {}
    for key, entry in block.items():
        if key == "":
            result["values"] = list(entry)
        elif isinstance(entry, tuple) and len(entry) >= 2:
            result[key] = scalar(entry[1])
            result[f"{key}.label"] = entry[0]
            if len(entry) >= 3:
                result[f"{key}.unit"] = entry[2]
        else:
            result[key] = entry
    return result


def detect_flavour(tif: tifffile.TiffFile, metadata: dict[str, Any]) -> str:
    if tif.is_tvips:
        return "tvips"
    if tif.is_fei:
        return "fei"
    if tif.is_sem:
        return "zeiss"
    if metadata.get("Make") == "JEOL Ltd." and any(
        k.startswith("ImageDescription.TemReporter.") for k in metadata
    ):
        return "jeol_sightx"
    codes = {tag.code for tag in tif.pages.first.tags.values()}
    if _DM_TAGS & codes:
        return "gatan_dm"
    if tif.is_imagej:
        return "imagej"
    return "generic"
