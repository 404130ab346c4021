"""What the window remembers between runs: its size and place, the splitter, the open branches of
the catalog tree and the selected entry, and the last operator typed in the upload dialog.

Kept with QSettings in an INI file of its own in lamefair's config folder (home/paths.py, so
LAMEFAIR_HOME moves it too), never in settings.json: that file is the admin's, checked strictly,
and a save is refused while it is broken; the window's layout must never be a reason for either.
A missing or unreadable state file means the defaults.
"""

from __future__ import annotations

import getpass

from PySide6.QtCore import QByteArray, QSettings

from lamefair_desktop.home import paths

FILE_NAME = "window-state.ini"


def _state() -> QSettings:
    return QSettings(str(paths.config_dir() / FILE_NAME), QSettings.Format.IniFormat)


def _list(value) -> list[str]:
    """QSettings returns one string for a one-item list, and None for an empty one."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def save_layout(window) -> None:
    state = _state()
    state.setValue("window/geometry", window.saveGeometry())
    state.setValue("window/splitter", window.splitter.saveState())
    state.setValue("window/catalog-splitter", window.catalog_split.saveState())
    opened, current = window.tree_memory.state()
    state.setValue("tree/open", opened)
    state.setValue("tree/current", current)
    state.sync()


def restore_layout(window) -> None:
    state = _state()
    geometry = state.value("window/geometry")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    for key, splitter in (
        ("window/splitter", window.splitter),
        ("window/catalog-splitter", window.catalog_split),  # the tree above the details
    ):
        saved = state.value(key)
        if isinstance(saved, QByteArray) and not saved.isEmpty():
            splitter.restoreState(saved)
    window.tree_memory.restore(
        _list(state.value("tree/open")), str(state.value("tree/current") or "")
    )


def default_operator(signed_in_name: str, local: bool) -> str:
    """The operator the upload dialog proposes: the last one typed, else who is signed in, else
    (the local catalog knows no people) this computer's account name."""
    last = str(_state().value("upload/operator") or "")
    if last:
        return last
    if local:
        try:
            return getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (a container)
            return ""
    return signed_in_name


def remember_operator(operator: str) -> None:
    if operator:
        state = _state()
        state.setValue("upload/operator", operator)
        state.sync()
