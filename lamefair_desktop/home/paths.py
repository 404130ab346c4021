"""Where lamefair keeps its settings, data, caches and logs.

platformdirs gives each OS its conventional places; `LAMEFAIR_HOME` puts everything under one folder
instead, for portable installs and for tests (each test gets its own).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "lamefair"


def _home() -> Path | None:
    home = os.environ.get("LAMEFAIR_HOME")
    return Path(home).expanduser() if home else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    home = _home()
    return _ensure(home / "config" if home else platformdirs.user_config_path(APP_NAME))


def data_dir() -> Path:
    home = _home()
    return _ensure(home / "data" if home else platformdirs.user_data_path(APP_NAME))


def cache_dir() -> Path:
    home = _home()
    return _ensure(home / "cache" if home else platformdirs.user_cache_path(APP_NAME))


def log_dir() -> Path:
    home = _home()
    return _ensure(home / "logs" if home else platformdirs.user_log_path(APP_NAME))
