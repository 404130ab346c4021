"""Open in Fiji / Open in napari: hand the previewed file to the tool staff already know.

Fiji is found as `fiji_path` in the settings (its launcher, or the Fiji.app folder) or by one of
its launcher names on PATH; napari as `napari_path` in the settings or `napari` on PATH (both
paths are set in the Settings dialog, which checks them with the same functions). A tool that is not there leaves its button
disabled, the tooltip saying how to install it. Both get a TIFF: the file itself when it is one,
else (a .nxs, DM or EMD file, which neither reads without plugins) a calibrated ImageJ TIFF of its
image, written to lamefair's cache. The tool is started detached (its own session, no pipes), so
it outlives the preview and lamefair never waits for it.

Finding the tools (PATH and settings lookups), writing the TIFF and starting the process all run
on a worker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPushButton, QWidget

from lamefair_desktop.home import paths
from lamefair_desktop.home.settings import Settings, SettingsError
from lamefair_desktop.nexus.preview import open_preview
from lamefair_desktop.ui.panels.view_export import imagej_scale
from lamefair_desktop.workers.job import JobGroup

FIJI_LAUNCHERS = (
    "ImageJ-linux64",
    "fiji",
    "fiji-linux-x64",
    "ImageJ-win64.exe",
    "fiji-windows-x64.exe",
    "ImageJ-macosx",
    "fiji-macos",
)
FIJI_HELP = (
    "Fiji is not installed: download it from https://fiji.sc, unpack it, and put its launcher "
    "(ImageJ-linux64 or fiji) on PATH, or choose it as Fiji in Settings."
)
NAPARI_HELP = (
    "napari is not installed: pip install 'napari[all]' (or conda install -c conda-forge napari) "
    "so that the napari command is on PATH, or choose that command as napari in Settings."
)
TIFF_SUFFIXES = (".tif", ".tiff")


@dataclass(frozen=True)
class Viewer:
    name: str  # as on the button: "Fiji", "napari"
    executable: str | None  # None: not installed here
    why_not: str = ""  # how to install it, when it is not there


def is_program(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def fiji_launcher(configured: str) -> Path | None:
    """The launcher `configured` names: the file itself, or one of Fiji's launchers in the
    Fiji.app folder it names; None when there is none."""
    place = Path(configured).expanduser()
    candidates = [place / name for name in FIJI_LAUNCHERS] if place.is_dir() else [place]
    return next((candidate for candidate in candidates if is_program(candidate)), None)


def _configured() -> Settings:
    try:
        return Settings.load()
    except SettingsError:
        return Settings()  # the settings' own message is shown where they are used


def find_fiji() -> Viewer:
    """The settings' `fiji_path` first (a launcher, or the Fiji.app folder), then PATH."""
    configured = _configured().fiji_path
    if configured:
        launcher = fiji_launcher(configured)
        if launcher is not None:
            return Viewer("Fiji", str(launcher))
        return Viewer(
            "Fiji",
            None,
            f"fiji_path in the settings is {configured}, where there is no Fiji launcher: "
            "set it to Fiji's ImageJ-linux64 (or fiji), or to the Fiji.app folder.",
        )
    for name in FIJI_LAUNCHERS:
        found = shutil.which(name)
        if found:
            return Viewer("Fiji", found)
    return Viewer("Fiji", None, FIJI_HELP)


def find_napari() -> Viewer:
    """The settings' `napari_path` first, then PATH."""
    configured = _configured().napari_path
    if configured:
        if is_program(Path(configured).expanduser()):
            return Viewer("napari", str(Path(configured).expanduser()))
        return Viewer(
            "napari",
            None,
            f"napari_path in the settings is {configured}, which is not a program: set it to "
            "the napari command of the environment napari is installed in (…/bin/napari).",
        )
    found = shutil.which("napari")
    return Viewer("napari", found, "" if found else NAPARI_HELP)


def as_tiff(source: Path) -> Path:
    """The file itself when it is a TIFF, else an ImageJ TIFF of its image (every frame, with
    its pixel size), in the cache; written again only when the source is newer."""
    if source.suffix.lower() in TIFF_SUFFIXES:
        return source
    folder = paths.cache_dir() / "external-viewers"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{source.stem}.tif"
    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    with open_preview(source) as preview:
        info = preview.info
        frames = np.stack([preview.frame(i) for i in range(info.frames)])
    if frames.dtype not in (np.uint8, np.uint16, np.float32) and info.channels == 1:
        frames = frames.astype(np.float32)  # what ImageJ holds besides 8 and 16 bits
    options: dict = {"metadata": {"axes": "ZYXS" if info.channels > 1 else "ZYX"}}
    if info.channels > 1:
        options["photometric"] = "rgb"
    if info.pixel_x and info.pixel_y:
        size_x, unit = imagej_scale(info.pixel_x, info.unit)
        size_y, _ = imagej_scale(info.pixel_y, info.unit)
        options["resolution"] = (1.0 / size_x, 1.0 / size_y)
        options["metadata"]["unit"] = unit
    partial = target.with_suffix(".tif.partial")
    tifffile.imwrite(partial, frames, imagej=True, **options)
    os.replace(partial, target)
    return target


def launch(viewer: Viewer, source: Path) -> str:
    """Start the viewer on the file, detached; the TIFF it was given."""
    tiff = as_tiff(source)
    detached = (
        {"creationflags": subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP}
        if sys.platform == "win32"
        else {"start_new_session": True}
    )
    # Not waited for: Python reaps it on a later Popen; the tool may run for hours.
    subprocess.Popen(  # noqa: S603 - the user's own tool, on the user's own file
        [viewer.executable, str(tiff)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        **detached,
    )
    return str(tiff)


class ExternalViewers(QObject):
    """The two buttons; `refresh()` looks for the tools again (on every file opened)."""

    found = Signal(object)  # tuple[Viewer, Viewer]
    launched = Signal(str, str)  # viewer's name, the file it was given
    failed = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.jobs = JobGroup(self.failed.emit)
        self.source: Path | None = None
        self._generation = 0  # a look-up finishing after a newer one is dropped
        self.viewers: dict[str, Viewer] = {}
        self.buttons = {name: QPushButton(f"Open in {name}") for name in ("Fiji", "napari")}
        for name, button in self.buttons.items():
            button.setEnabled(False)
            button.clicked.connect(lambda _checked=False, name=name: self.open_in(name))

    def set_source(self, path: Path | None) -> None:
        self.source = path
        self.refresh()

    def refresh(self) -> None:
        self._generation += 1
        generation = self._generation
        self.jobs.run(lambda: (generation, find_fiji(), find_napari()), self._found)

    def _found(self, result: tuple) -> None:
        generation, *viewers = result
        if generation != self._generation:
            return
        self.viewers = {viewer.name: viewer for viewer in viewers}
        for viewer in viewers:
            button = self.buttons[viewer.name]
            ready = viewer.executable is not None and self.source is not None
            button.setEnabled(ready)
            if viewer.executable is None:
                button.setToolTip(viewer.why_not)
            elif self.source is None:
                button.setToolTip(f"Open an image first; it opens in {viewer.name}")
            else:
                given = "it" if self.source.suffix.lower() in TIFF_SUFFIXES else "a TIFF of it"
                button.setToolTip(
                    f"Open {self.source.name} in {viewer.name} ({given}, with its pixel size)"
                )
        self.found.emit(tuple(viewers))

    def open_in(self, name: str) -> None:
        viewer, source = self.viewers.get(name), self.source
        if viewer is None or viewer.executable is None or source is None:
            return
        self.jobs.run(
            lambda: launch(viewer, source),
            lambda tiff: self.launched.emit(name, tiff),
            lambda message, _d: self.failed.emit(
                f"Could not open {source.name} in {name}: {message}"
            ),
        )
