"""Catalog context for a conversion: `{"project", "proposal", "sample", "experiment", "measurement"}`.

Inner objects use the catalog API's field names; everything is optional (a missing piece makes the
entry incomplete, which the validator's report then says, but never stops the file being written).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lamefair_desktop.nexus.errors import NexusEngineError

SECTIONS = ("project", "proposal", "sample", "experiment", "measurement")


def load_context(path: Path) -> dict[str, dict[str, Any]]:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise NexusEngineError(f"Context file {path} cannot be read: {exc.strerror}.") from exc
    except ValueError as exc:
        raise NexusEngineError(f"Context file {path} is not valid JSON: {exc}.") from exc
    return normalise_context(raw, str(path))


def normalise_context(raw: Any, origin: str = "context") -> dict[str, dict[str, Any]]:
    if raw is None:
        return {name: {} for name in SECTIONS}
    if not isinstance(raw, dict):
        raise NexusEngineError(f"{origin} must be a JSON object with {', '.join(SECTIONS)}.")
    unknown = set(raw) - set(SECTIONS)
    if unknown:
        raise NexusEngineError(
            f"{origin} has unknown section(s) {', '.join(sorted(unknown))}; "
            f"expected {', '.join(SECTIONS)}."
        )
    result = {}
    for name in SECTIONS:
        section = raw.get(name) or {}
        if not isinstance(section, dict):
            raise NexusEngineError(f"{origin}: {name!r} must be an object.")
        result[name] = section
    return result
