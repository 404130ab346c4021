"""The physical size of a pixel, and where each TIFF flavour states it.

Vendors write it in their own places and units (FEI's Scan.PixelWidth in m, TVIPS's nanometres,
Zeiss's pixel size for a 1024-pixel frame, DigitalMicrograph's scale tags, ImageJ's unit and
resolution, JEOL SightX's camera pitch and magnification or camera length). Every one becomes a
`Calibration` in SI units (m, or 1/m for diffraction patterns), or an uncalibrated one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import tifffile

from lamefair_desktop.nexus.units import UnknownUnit, to_si


@dataclass(frozen=True)
class Calibration:
    """Physical size of one pixel along y (rows) and x (columns), in SI units."""

    pixel_y: float | None = None
    pixel_x: float | None = None
    unit: str = "px"  # "m" for images, "1/m" for diffraction patterns, "px" when unknown
    frame_spacing: float | None = None  # between stack frames (z), in `frame_unit`
    frame_unit: str = ""
    source: str = "none"  # which vendor field gave it, for the report

    @property
    def calibrated(self) -> bool:
        return self.pixel_x is not None and self.pixel_y is not None and self.unit != "px"


def _fei_block(metadata: dict[str, Any]) -> str | None:
    for name in ("FEI_HELIOS", "FEI_SFEG"):
        if any(k.startswith(name + ".") for k in metadata):
            return name
    return None


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _resolution_length(metadata: dict[str, Any]) -> tuple[float, float] | None:
    """Pixel pitch from XResolution/YResolution when a physical resolution unit is declared."""
    unit = metadata.get("ResolutionUnit")
    per = {"CENTIMETER": 0.01, "INCH": 0.0254}.get(unit)
    x, y = metadata.get("XResolution[0]"), metadata.get("XResolution[1]")
    yx, yy = metadata.get("YResolution[0]"), metadata.get("YResolution[1]")
    if per is None or not all(_positive(v) for v in (x, y, yx, yy)):
        return None
    return per * yy / yx, per * y / x


def calibrate(
    tif: tifffile.TiffFile, flavour: str, metadata: dict[str, Any], columns: int
) -> Calibration:
    """The pixel size the vendor states, in SI units, or an uncalibrated Calibration."""
    if flavour == "fei":
        block = _fei_block(metadata)
        px = _positive(metadata.get(f"{block}.Scan.PixelWidth"))
        py = _positive(metadata.get(f"{block}.Scan.PixelHeight"))
        if px and py:
            return Calibration(py, px, "m", source=f"{block}.Scan.PixelWidth/PixelHeight")
        for beam in ("EBeam", "IBeam"):
            hfw = _positive(metadata.get(f"{block}.{beam}.HFW"))
            res = _positive(metadata.get(f"{block}.Image.ResolutionX"))
            if hfw and res:
                return Calibration(hfw / res, hfw / res, "m", source=f"{block}.{beam}.HFW")
    if flavour == "zeiss":
        values = [metadata.get(f"CZ_SEM.values[{i}]") for i in range(4)]
        size = _positive(values[3])
        if size:
            # The stored pixel size refers to a 1024-pixel-wide frame (SmartSEM's convention).
            pitch = size * 1024 / columns
            return Calibration(pitch, pitch, "m", source="CZ_SEM pixel size")
        text = metadata.get("CZ_SEM.ap_image_pixel_size")
        unit = metadata.get("CZ_SEM.ap_image_pixel_size.unit", "")
        if _positive(text) and unit:
            pitch, _ = to_si(float(text), unit)
            return Calibration(pitch, pitch, "m", source="CZ_SEM.ap_image_pixel_size")
    if flavour == "tvips":
        px = _positive(metadata.get("TVIPS.PixelSizeX"))
        py = _positive(metadata.get("TVIPS.PixelSizeY"))
        if px and py:  # TVIPS stores nanometres
            return Calibration(py * 1e-9, px * 1e-9, "m", source="TVIPS.PixelSizeX/Y (nm)")
        pitch = _resolution_length(metadata)
        if pitch:
            return Calibration(*pitch, "m", source="XResolution/YResolution")
    if flavour == "jeol_sightx":
        return _jeol_calibration(metadata)
    if flavour == "gatan_dm":
        sx, sy = _positive(metadata.get("tag_65010")), _positive(metadata.get("tag_65009"))
        ux, uy = metadata.get("tag_65004", ""), metadata.get("tag_65003", "")
        try:
            if sx and sy and ux and uy:
                return Calibration(
                    to_si(sy, uy)[0], to_si(sx, ux)[0], to_si(1, ux)[1], source="DM scale tags"
                )
        except UnknownUnit:
            pass
    if flavour == "imagej":
        unit = metadata.get("ImageDescription.unit") or ""
        ij = tif.imagej_metadata or {}
        unit = ij.get("unit", unit)
        x, y = metadata.get("XResolution[0]"), metadata.get("XResolution[1]")
        yx, yy = metadata.get("YResolution[0]"), metadata.get("YResolution[1]")
        if unit and all(_positive(v) for v in (x, y, yx, yy)):
            try:
                px, si = to_si(y / x, unit)
                py, _ = to_si(yy / yx, unit)
            except UnknownUnit:
                return Calibration(source=f"ImageJ unit {unit!r} not understood")
            spacing = _positive(ij.get("spacing"))
            return Calibration(
                py,
                px,
                si,
                frame_spacing=to_si(spacing, unit)[0] if spacing else None,
                frame_unit=si if spacing else "",
                source="ImageJ unit and resolution",
            )
    return Calibration()


def electron_wavelength(voltage: float) -> float:
    """Relativistic de Broglie wavelength (m) of electrons accelerated through `voltage` (V)."""
    m_e, e, c, h = 9.1093837015e-31, 1.602176634e-19, 299792458.0, 6.62607015e-34
    momentum = math.sqrt(2 * m_e * e * voltage * (1 + e * voltage / (2 * m_e * c**2)))
    return h / momentum


def _jeol_calibration(metadata: dict[str, Any]) -> Calibration:
    base = "ImageDescription.TemReporter."
    mode = metadata.get(base + "ImageFormingSystem.ModeString")
    selector = _positive(metadata.get(base + "ImageFormingSystem.SelectorValue"))
    pitch = _resolution_length(metadata)  # the camera pixel pitch as SightX records it
    if not (pitch and selector):
        return Calibration(source="JEOL SightX: no resolution or selector value")
    if mode == "MAG":
        return Calibration(pitch[0] / selector, pitch[1] / selector, "m", source="SightX MAG")
    if mode == "DIFF":
        voltage = _positive(metadata.get(base + "ElectronGun.AccelerationVoltage"))
        unit = metadata.get(base + "ImageFormingSystem.SelectorUnitString", "mm")
        if voltage:
            try:
                camera_length, _ = to_si(selector, unit)
            except UnknownUnit:
                return Calibration(source=f"SightX camera length unit {unit!r} not understood")
            factor = 1 / (camera_length * electron_wavelength(voltage))
            return Calibration(
                pitch[0] * factor, pitch[1] * factor, "1/m", source="SightX DIFF camera length"
            )
    return Calibration(source=f"JEOL SightX mode {mode!r} not calibrated")
