"""The acquisition at a glance (no Qt): voltage, magnification, pixel size, dwell time... in the
units microscopists read them in, from a vendor file's tags or from an NXem file.

The values come from the same mapping targets the converter writes, so the preview, the upload
dialog and the NXem cannot disagree about a file. From tags, the file's flavour mapping is used
unless an instrument pair is given (the upload dialog passes the chosen one). Reading is
tags-only: no pixel is decoded, so a folder of large images is summarised quickly.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from lamefair_desktop.nexus.apply_mapping import apply
from lamefair_desktop.nexus.display import format_length
from lamefair_desktop.nexus.mapping import MappingRegistry, choose_mapping, default_registry
from lamefair_desktop.nexus.preview import Preview
from lamefair_desktop.nexus.sources import open_source
from lamefair_desktop.nexus.targets import TARGETS
from lamefair_desktop.nexus.units import UnknownUnit, to_si

# Vendor keys naming who acquired the image (NXem has no mapping target for it: the catalog's
# operator fills user1 at conversion). First present wins.
OPERATOR_KEYS = (
    "FEI_HELIOS.User.User",
    "FEI_SFEG.User.User",
    "CZ_SEM.sv_operator",
    "CZ_SEM.sv_user_name",
    "ImageDescription.TemReporter.Operator",
)


@dataclass(frozen=True)
class Fact:
    """One line of the summary: what, its value as people read it, where it came from."""

    label: str
    text: str
    source: str  # the mapping targets (tags) or NeXus paths it was read from


@dataclass(frozen=True)
class Pixel:
    """Pixel pitch in SI units ("m", or "1/m" for diffraction patterns)."""

    x: float
    y: float
    unit: str


def _kv(volts: float) -> str:
    return f"{volts / 1e3:.1f} kV" if abs(volts) >= 1e3 else f"{volts:.0f} V"


def _mm(metres: float) -> str:
    return f"{metres * 1e3:.4g} mm"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.3g} µs"


def _degrees(radians: float) -> str:
    return f"{math.degrees(radians):.2f}°"


def _magnification(value: float) -> str:
    return f"{value:,.0f}×".replace(",", " ")


def _time(text: str) -> str:
    """ISO 8601 as people read it: 2016-06-13 17:06:40 (UTC+00:00)."""
    day, _, clock = str(text).partition("T")
    if clock.endswith("Z"):
        return f"{day} {clock[:-1]} (UTC)"
    for sign in "+-":
        if sign in clock:
            clock, _, offset = clock.partition(sign)
            return f"{day} {clock} (UTC{sign}{offset})"
    return f"{day} {clock}".strip()


def _joined(*parts: Any) -> str:
    return ", ".join(str(p) for p in parts if p not in (None, ""))


def summarise(
    values: dict[str, Any], pixel: Pixel | None, operator: str | None = None
) -> tuple[Fact, ...]:
    """The facts `values` (mapping target -> SI value) state, in a fixed order; absent ones are
    left out rather than shown empty."""
    facts: list[Fact] = []

    def add(label: str, targets: tuple[str, ...], make: Callable[..., str | None]) -> None:
        present = [values.get(t) for t in targets]
        if all(v in (None, "") for v in present):
            return
        try:
            text = make(*present)
        except (TypeError, ValueError):
            text = _joined(*present)  # a value of an unexpected kind: shown as it is
        if text:
            used = [t for t, v in zip(targets, present, strict=True) if v not in (None, "")]
            facts.append(Fact(label, text, ", ".join(used)))

    vendor_model = ("instrument.vendor", "instrument.model", "instrument.name")
    add("Instrument", vendor_model, lambda v, m, n: " ".join(str(p) for p in (v, m or n) if p))
    add(
        "Detector",
        ("detector.name", "event.detector_mode", "detector.model"),
        lambda name, mode, model: _joined(name, model) + (f" ({mode})" if mode else ""),
    )
    add("Accelerating voltage", ("event.voltage",), lambda v: _kv(float(v)))
    add("Magnification", ("event.magnification",), lambda m: _magnification(float(m)))
    add("Field of view", ("event.field_of_view",), lambda f: format_length(float(f), "m"))
    if pixel is not None:
        pitch = format_length(pixel.x, pixel.unit)
        if pixel.y != pixel.x:
            pitch = f"{pitch} × {format_length(pixel.y, pixel.unit)}"
        facts.append(Fact("Pixel size", pitch.replace("1/nm", "nm⁻¹"), "calibration"))
    add("Dwell time", ("event.dwell_time",), lambda t: _us(float(t)))
    add("Working distance", ("event.working_distance",), lambda d: _mm(float(d)))
    add("Camera length", ("event.camera_length",), lambda d: _mm(float(d)))
    add("Probe current", ("event.probe_current",), lambda a: f"{float(a) * 1e12:.4g} pA")
    add(
        "Stage tilt",
        ("event.stage.tilt1", "event.stage.tilt2"),
        lambda a, b: _degrees(float(a)) + (f", {_degrees(float(b))}" if b else ""),
    )
    add("Acquired", ("event.start_time",), _time)
    if operator:
        facts.append(Fact("Operator", str(operator), "operator"))
    return tuple(facts)


def operator_in(metadata: dict[str, Any]) -> str | None:
    for key in OPERATOR_KEYS:
        value = metadata.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def summarise_tags(
    metadata: dict[str, Any],
    flavour: str,
    calibration: Any,
    pair: str | None = None,
    registry: MappingRegistry | None = None,
) -> tuple[Fact, ...]:
    """From a vendor file's flattened tags and its calibration (a `Calibration`)."""
    choice = choose_mapping(registry or default_registry(), flavour, pair)
    values = apply(choice.mapping, metadata).values
    pixel = None
    if calibration.calibrated:
        pixel = Pixel(calibration.pixel_x, calibration.pixel_y, calibration.unit)
    return summarise(values, pixel, operator_in(metadata))


def summarise_file(path: str | Path, pair: str | None = None) -> tuple[Fact, ...]:
    """Open a vendor file (tags only) and summarise it; NexusEngineError when unreadable."""
    with open_source(path) as source:
        return summarise_tags(source.metadata, source.flavour, source.calibration, pair)


def summarise_preview(preview: Preview) -> tuple[Fact, ...]:
    """The summary of a file open for preview (its tags, or its NXem fields)."""
    if preview.info.kind == "tiff":
        source = preview.origin
        return summarise_tags(source.metadata, source.flavour, source.calibration)
    info = preview.info
    pixel = Pixel(info.pixel_x, info.pixel_y, info.unit) if info.unit != "px" else None
    return summarise_nexus(preview.origin, pixel)


def summarise_nexus(handle: h5py.File, pixel: Pixel | None) -> tuple[Fact, ...]:
    """From an NXem file lamefair wrote (the targets' paths in its first NXentry)."""
    found = nexus_values(handle)
    return () if found is None else summarise(*found[:1], pixel, found[1])


def nexus_values(handle: h5py.File) -> tuple[dict[str, Any], str | None] | None:
    """The mapping targets' SI values in an NXem file lamefair wrote, and its operator (None:
    no NXentry). What the summary shows and what the catalog is sent for search."""
    entry = _first_entry(handle)
    if entry is None:
        return None
    values: dict[str, Any] = {}
    for name, target in TARGETS.items():
        value = _read_target(entry, target.path)
        if value is not None:
            values[name] = value
    operator = _text(entry["user1/name"][()]) if "user1/name" in entry else None
    return values, operator


def _first_entry(handle: h5py.File) -> h5py.Group | None:
    for node in handle.values():
        if isinstance(node, h5py.Group) and _text(node.attrs.get("NX_class", "")) == "NXentry":
            return node
    return None


def _read_target(entry: h5py.Group, path: str) -> Any:
    """A field's value in SI units (NXem states @units); `name[i]` picks one element."""
    attribute = None
    if "@" in path:
        path, attribute = path.split("@", 1)
    index = None
    if path.endswith("]"):
        path, _, rest = path.rpartition("[")
        index = int(rest[:-1])
    if path not in entry:
        return None
    node = entry[path]
    if attribute is not None:
        value = node.attrs.get(attribute)
        return None if value is None else _text(value)
    if not isinstance(node, h5py.Dataset):
        return None
    value = node[()]
    if index is not None:
        value = np.asarray(value).reshape(-1)
        if index >= value.size:
            return None
        value = value[index]
    if isinstance(value, bytes | np.bytes_ | str):
        return _text(value)
    if np.ndim(value) != 0:
        return None
    number = float(value)
    unit = _text(node.attrs.get("units", ""))
    if unit:
        with contextlib.suppress(UnknownUnit):  # another program's unit: shown as stored
            number, _ = to_si(number, unit)
    return number


def _text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def one_line(facts: tuple[Fact, ...]) -> str:
    """The few facts an operator checks before uploading, on one line, the beam first."""
    short = (
        ("Accelerating voltage", ""),
        ("Magnification", ""),
        ("Field of view", "field "),
        ("Pixel size", "pixel "),
        ("Dwell time", "dwell "),
        ("Working distance", "WD "),
        ("Camera length", "CL "),
        ("Detector", ""),
    )
    by_label = {fact.label: fact.text for fact in facts}
    return " · ".join(f"{prefix}{by_label[label]}" for label, prefix in short if label in by_label)
