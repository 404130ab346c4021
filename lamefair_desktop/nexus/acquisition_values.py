"""The acquisition values the catalog indexes for search (no Qt), read from the NXem file just
written: the same targets the summary shows (acquisition_summary.nexus_values), as plain SI floats
(stage tilt in degrees), so the catalog, the preview and the file cannot disagree.

Reading is tags and shapes only: no pixel is decoded.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lamefair_desktop.nexus.acquisition_summary import nexus_values
from lamefair_desktop.nexus.preview import open_preview
from lamefair_desktop.nexus.targets import UNKNOWN

# Catalog field <- mapping target, for the numbers sent as they are (SI already).
_NUMBERS = {
    "voltage": "event.voltage",
    "magnification": "event.magnification",
    "field_of_view": "event.field_of_view",
    "dwell_time": "event.dwell_time",
    "working_distance": "event.working_distance",
    "camera_length": "event.camera_length",
}
_TEXT_LIMIT = 200  # the catalog's name length


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str:
    """One line, short enough; the writer's placeholder for what the file did not say is not
    an instrument anyone searches for: sent as nothing."""
    text = " ".join(str(value or "").split())
    return "" if text == UNKNOWN else text[:_TEXT_LIMIT]


def acquisition_values(path: str | Path, valid: bool | None = None) -> dict[str, Any]:
    """The body's `acquisition` for POST /api/files/{id}/derived; NexusEngineError if unreadable."""
    with open_preview(path) as preview:
        info = preview.info
        found = nexus_values(preview.origin) if info.kind == "nexus" else None
    values, operator = found or ({}, None)
    body: dict[str, Any] = {
        "instrument_vendor": _text(values.get("instrument.vendor")),
        "instrument_model": _text(values.get("instrument.model") or values.get("instrument.name")),
        "detector": _text(values.get("detector.name") or values.get("detector.model")),
        "operator": _text(operator),
        "acquired_at": _text(values.get("event.start_time"))[:64] or None,
        "valid": valid,
    }
    for field, target in _NUMBERS.items():
        body[field] = _number(values.get(target))
    tilt = _number(values.get("event.stage.tilt1"))  # radians in NXem
    body["stage_tilt"] = None if tilt is None else math.degrees(tilt)
    body["pixel_size"] = info.pixel_x if info.unit == "m" else None
    if info.channels > 1 and len(info.frame_shape) == 2:
        body["height"], body["width"] = info.frame_shape  # (rows, columns) before channels
    else:
        body["height"], body["width"] = info.frame_shape[-2], info.frame_shape[-1]
    body["frames"] = info.frames
    return body
