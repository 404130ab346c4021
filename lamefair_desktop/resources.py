"""One way to reach `mappings/` and `resources/`, from a checkout, a wheel or a frozen build.

- Frozen (PyInstaller): the spec copies both folders next to the executable's data (`sys._MEIPASS`).
- Wheel: hatch force-includes them as `lamefair_desktop/_data/...` (see pyproject.toml).
- Source checkout / editable install: the folders at the top of the repository.
Never relative to the current directory: the app is started from anywhere.
"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path


def _data_root() -> Path:
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    packaged = Path(str(files("lamefair_desktop"))) / "_data"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent


def resource_path(*parts: str) -> Path:
    """Path of a file under `resources/`, e.g. `resource_path("icons", "lamefair.svg")`."""
    return _data_root().joinpath("resources", *parts)


def mappings_dir() -> Path:
    """The folder of instrument mapping JSON files and their schema."""
    return _data_root() / "mappings"
