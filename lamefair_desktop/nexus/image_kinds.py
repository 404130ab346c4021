"""What kind of image a TIFF holds, beyond its pixels: which pages are the image, how many colour
channels, whether a vendor data bar sits below it, and whether a scanned beam made it.

Microscopes write more than plain grey frames:
- FEI/Thermo Fisher xT software burns a data bar (scale, HV, HFW...) below the image and records
  the image's own height as `[Image] ResolutionY` (and the bar's as `[PrivateFei] DatabarHeight`).
  The bar is not part of the sample's image: it is cut off and kept apart.
- Files may carry a reduced-resolution thumbnail page next to the image (skipped, and said so),
  or pages of another shape: another detector's image, recorded at the same time. The main image
  is the first page and the pages of its shape; each other shape becomes an image of its own in
  the same entry, never silently merged into a stack.
- Cameras (a dual-beam's navigation camera, an optical camera) take no dwell time: their images
  get no scan controller, which NXem would otherwise require to state one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tifffile

from lamefair_desktop.nexus.errors import TiffReadError

# Targets that only make sense for a scanned beam (they fill NXem's scan controller).
SCAN_TARGETS = ("event.scan_schema", "event.dwell_time")
_FEI_BLOCKS = ("FEI_HELIOS", "FEI_SFEG")


@dataclass(frozen=True)
class Layout:
    """Where the sample's image sits in each page."""

    rows: int  # rows of the sample's image (a data bar below it excluded)
    columns: int
    channels: int = 1  # 1: grey (or palette indices), 3: RGB, 4: RGBA
    databar_rows: int = 0  # rows below the image holding the vendor's data bar
    databar_source: str = ""  # the header field that says where the image ends


def channels_of(page: tifffile.TiffPage, name: str) -> int:
    """Colour channels of a page: 1 for grey and palette images, 3 for RGB, 4 for RGBA."""
    samples = page.samplesperpixel
    photometric = page.photometric.name
    if samples == 1 or photometric == "PALETTE":
        return 1
    if photometric in ("RGB", "YCBCR") and samples in (3, 4):
        return samples  # tifffile decodes YCbCr (JPEG) to RGB; a fourth sample is alpha
    raise TiffReadError(
        f"{name} has {samples} samples per pixel ({photometric}); lamefair converts grey, "
        "palette, RGB and RGBA images."
    )


@dataclass(frozen=True)
class PageGroup:
    """Pages of one shape that are not the main image: another detector's image (or stack)."""

    numbers: tuple[int, ...]  # 1-based page numbers
    pages: tuple[tifffile.TiffPage, ...]

    @property
    def label(self) -> str:
        return pages_label(self.numbers)


def pages_label(numbers: tuple[int, ...]) -> str:
    """'page 3', 'pages 3-5' or 'pages 2, 4'."""
    if len(numbers) == 1:
        return f"page {numbers[0]}"
    if numbers == tuple(range(numbers[0], numbers[-1] + 1)):
        return f"pages {numbers[0]}-{numbers[-1]}"
    return "pages " + ", ".join(str(n) for n in numbers)


def image_pages(
    tif: tifffile.TiffFile,
) -> tuple[PageGroup, tuple[PageGroup, ...], tuple[str, ...]]:
    """The main image's pages (the first and those of its shape), the other images' pages grouped
    by shape (several detectors), and the reduced-resolution copies skipped, in words."""
    first = tif.pages.first
    kept, skipped = [], []
    others: dict[tuple, list[tuple[int, tifffile.TiffPage]]] = {}
    for index, page in enumerate(tif.pages):
        shape = getattr(page, "shape", None)
        if index and _is_thumbnail(page):
            size = "x".join(str(n) for n in shape or ())
            what = "reduced-resolution copy" if shape == first.shape else f"{size}, thumbnail"
            skipped.append(f"page {index + 1} ({what}): skipped, not converted")
        elif shape == first.shape:
            kept.append((index + 1, page))
        elif shape and 0 not in shape:
            others.setdefault((shape, str(page.dtype)), []).append((index + 1, page))
    groups = tuple(
        PageGroup(tuple(n for n, _ in members), tuple(p for _, p in members))
        for members in others.values()
    )
    kept = kept or [(1, first)]
    main = PageGroup(tuple(n for n, _ in kept), tuple(p for _, p in kept))
    return main, groups, tuple(skipped)


def _is_thumbnail(page: tifffile.TiffPage) -> bool:
    subfile = getattr(page, "subfiletype", 0) or 0
    return bool(subfile & tifffile.FILETYPE.REDUCEDIMAGE)


def layout(flavour: str, metadata: dict[str, Any], page: tifffile.TiffPage, name: str) -> Layout:
    """The image region of `page` (rows x columns) and its colour channels."""
    rows, columns = page_rows_columns(page)
    channels = channels_of(page, name)
    if flavour == "fei":
        image_rows, source = _fei_image_rows(metadata, rows)
        if image_rows:
            return Layout(image_rows, columns, channels, rows - image_rows, source)
    return Layout(rows, columns, channels)


def page_rows_columns(page: tifffile.TiffPage) -> tuple[int, int]:
    shape = page.shape
    if page.samplesperpixel > 1 and page.photometric.name != "PALETTE":
        # Interleaved samples come last ((rows, columns, samples)); planar ones first.
        planar = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
        return (shape[-2], shape[-1]) if planar else (shape[-3], shape[-2])
    return shape[-2], shape[-1]


def _fei_image_rows(metadata: dict[str, Any], rows: int) -> tuple[int | None, str]:
    """Rows of the image proper when an FEI data bar follows it, else None."""
    for block in _FEI_BLOCKS:
        height = _whole(metadata.get(f"{block}.Image.ResolutionY"))
        if height and height < rows:
            return height, f"{block}.Image.ResolutionY"
        bar = _whole(metadata.get(f"{block}.PrivateFei.DatabarHeight"))
        if height is None and bar and bar < rows:
            return rows - bar, f"{block}.PrivateFei.DatabarHeight"
    return None, ""


def _whole(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() and number > 0 else None


def is_scanned(values: dict[str, Any]) -> bool:
    """A scanned-beam image states a dwell time; a camera image does not."""
    return "event.dwell_time" in values


def without_scan_for_cameras(values: dict[str, Any]) -> dict[str, Any]:
    """Drop scan-controller targets (a mapping's default scan schema) from a camera image."""
    if is_scanned(values):
        return values
    return {name: value for name, value in values.items() if name not in SCAN_TARGETS}
