"""Say, in words the file keeps, where the axes' scale came from and why it is in pixels.

A header may claim a pixel size that is obviously broken (zero, negative, NaN, infinite, or so
large that the axis overflows). Such a claim is never turned into a physical axis: the axes stay
in pixels, and the note names the field and the value it held, so a reader of the NXem file knows
the image was not merely "uncalibrated" but that its calibration was refused.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the reader imports this module: no import cycle at run time
    from lamefair_desktop.nexus.calibration import Calibration

# Header fields that claim a pixel size, per flavour ({block}: FEI_HELIOS or FEI_SFEG).
_CLAIMS: dict[str, tuple[str, ...]] = {
    "fei": ("{block}.Scan.PixelWidth", "{block}.Scan.PixelHeight", "{block}.EBeam.HFW"),
    "zeiss": ("CZ_SEM.values[3]", "CZ_SEM.ap_image_pixel_size"),
    "tvips": ("TVIPS.PixelSizeX", "TVIPS.PixelSizeY"),
    "gatan_dm": ("tag_65010", "tag_65009"),
    "imagej": ("XResolution[0]", "XResolution[1]", "YResolution[0]", "YResolution[1]"),
}


def refused_claims(flavour: str, metadata: dict[str, Any]) -> list[str]:
    """`field = value` for each pixel-size field present whose value is not a usable size."""
    keys = []
    for pattern in _CLAIMS.get(flavour, ()):
        if "{block}" in pattern:
            keys += [pattern.format(block=b) for b in ("FEI_HELIOS", "FEI_SFEG")]
        else:
            keys.append(pattern)
    return [
        f"{key} = {metadata[key]!r}"
        for key in keys
        if key in metadata and not _usable(metadata[key])
    ]


def _usable(value: Any) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number > 0


def finite_axes(calibration: Calibration, rows: int, columns: int) -> Calibration:
    """The calibration, unless its axes would overflow to infinity (then pixels, with why)."""
    if not calibration.calibrated:
        return calibration
    if all(
        math.isfinite(pitch * count) and pitch * count > 0
        for pitch, count in ((calibration.pixel_y, rows), (calibration.pixel_x, columns))
    ):
        return calibration
    return replace(
        calibration,
        pixel_y=None,
        pixel_x=None,
        unit="px",
        frame_spacing=None,
        frame_unit="",
        source=f"{calibration.source} gives a pixel size of {calibration.pixel_x!r} "
        f"{calibration.unit}, whose axis is not finite",
    )


def describe(calibration: Calibration, flavour: str, metadata: dict[str, Any]) -> str:
    """One paragraph for the file: the scale's origin, or why the axes are in pixels."""
    refused = refused_claims(flavour, metadata)
    if calibration.calibrated:
        text = f"Axes calibrated from the header ({calibration.source})."
        if refused:
            text += " Ignored, as not a usable pixel size: " + "; ".join(refused) + "."
        return text
    text = "Axes in pixels (units 'px'): "
    if refused:
        return text + (
            "the header claims a pixel size that is not usable, so no physical scale is given: "
            + "; ".join(refused)
            + "."
        )
    if calibration.source != "none":
        return text + f"{calibration.source}."
    return text + "the file states no pixel size."
