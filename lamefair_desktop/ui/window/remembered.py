"""What the window remembers between runs: its size and place, its splitters (tree | tabs, tree
over details, image | metadata, watch rules over their log), the column widths of its tables, the
open branches of the catalog tree and the selected entry, the last operator typed in the
upload dialog, and the Find panel's view of its results (table or grid).

Kept with QSettings in an INI file of its own in lamefair's config folder (home/paths.py, so
LAMEFAIR_HOME moves it too), never in settings.json: that file is the admin's, checked strictly,
and a save is refused while it is broken; the window's layout must never be a reason for either.
A missing or unreadable state file means the defaults.

Until the user drags the main splitter (or a saved position is restored), the catalog tree gets
a share of the window's width within bounds: a fixed 340 px was 27 % of 1280 px, then shrank
below the filter box's width at 1024 px and kept a quarter of a 4K screen for a list of names.
"""

from __future__ import annotations

import getpass

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings

from lamefair_desktop.home import paths

FILE_NAME = "window-state.ini"
TREE_SHARE, TREE_MIN, TREE_MAX = 0.25, 200, 480  # of the window's width; px


def _state() -> QSettings:
    return QSettings(str(paths.config_dir() / FILE_NAME), QSettings.Format.IniFormat)


def _list(value) -> list[str]:
    """QSettings returns one string for a one-item list, and None for an empty one."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _splitters(window) -> dict:
    return {
        "window/splitter": window.splitter,
        "window/catalog-splitter": window.catalog_split,  # the tree above the details
        "preview/splitter": window.preview.splitter,  # the image beside its metadata
        "watch/splitter": window.watch.splitter,  # the rules above the live log
    }


def _headers(window) -> dict:
    return {
        "columns/transfers": window.transfers.table.horizontalHeader(),
        "columns/buckets": window.buckets.table.horizontalHeader(),
        "columns/watch": window.watch.table.horizontalHeader(),
    }


def save_layout(window) -> None:
    state = _state()
    state.setValue("window/geometry", window.saveGeometry())
    for key, widget in (_splitters(window) | _headers(window)).items():
        state.setValue(key, widget.saveState())
    opened, current = window.tree_memory.state()
    state.setValue("tree/open", opened)
    state.setValue("tree/current", current)
    state.sync()


def restore_layout(window) -> None:
    state = _state()
    geometry = state.value("window/geometry")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    restored = set()
    for key, widget in (_splitters(window) | _headers(window)).items():
        saved = state.value(key)
        if isinstance(saved, QByteArray) and not saved.isEmpty() and widget.restoreState(saved):
            restored.add(key)
    if "window/splitter" not in restored:
        window._tree_width = TreeWidth(window)  # kept alive with the window
    window.tree_memory.restore(
        _list(state.value("tree/open")), str(state.value("tree/current") or "")
    )


class TreeWidth(QObject):
    """Sizes the main splitter from the window's width until the user drags it."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        # The splitter's own resize, not the window's: that comes first, with the old sizes.
        window.splitter.installEventFilter(self)
        window.splitter.splitterMoved.connect(self.stop)  # a drag: the user's width from now on
        self.fit()

    def stop(self, *_) -> None:
        self.window.splitter.removeEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's naming
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def fit(self) -> None:
        splitter = self.window.splitter
        total = splitter.width() - splitter.handleWidth()
        tree = int(min(TREE_MAX, max(TREE_MIN, splitter.width() * TREE_SHARE)))
        splitter.setSizes([tree, max(0, total - tree)])


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


def find_view() -> str:
    """The Find panel's view of its results last chosen ("" before any choice)."""
    return str(_state().value("find/view") or "")


def remember_find_view(name: str) -> None:
    """Saved at once, like the operator: a crash must not forget the choice."""
    state = _state()
    state.setValue("find/view", name)
    state.sync()
