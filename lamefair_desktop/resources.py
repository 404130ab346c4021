"""One way to reach `mappings/` and `resources/`, from a checkout, a wheel or a frozen build.

The lookup itself lives in `lamefair_catalog.shared.data_root` (the one module the desktop may
import from the server package), so the server finds the same mapping ids as the desktop.
"""

from __future__ import annotations

from pathlib import Path

from lamefair_catalog.shared import data_root, mappings_dir

__all__ = ["mappings_dir", "resource_path"]


def resource_path(*parts: str) -> Path:
    """Path of a file under `resources/`, e.g. `resource_path("icons", "lamefair.svg")`."""
    return data_root().joinpath("resources", *parts)
