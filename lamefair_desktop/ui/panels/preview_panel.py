"""Image preview for staff: TIFF and NeXus, calibrated scale, cursor read-out, frames, colour
maps and robust levels, the metadata (acquisition summary first), and Fiji's tools: a profile, a
rectangle's statistics, a ruler, the data bar hidden, the view exported, Fiji and napari at hand.

All file reading happens on a worker (the Job adapter); the panel only shows results. Stale frame
reads (the slider moved on) and stale opens (another file was opened since) are dropped. The open
file is touched by one worker at a time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from lamefair_desktop.nexus.acquisition_summary import summarise_preview
from lamefair_desktop.nexus.display import describe_image, format_length
from lamefair_desktop.nexus.levels import robust_levels
from lamefair_desktop.nexus.preview import Preview, PreviewInfo, open_preview
from lamefair_desktop.ui.panels.data_bar import DataBarToggle
from lamefair_desktop.ui.panels.external_viewers import ExternalViewers
from lamefair_desktop.ui.panels.measure_tools import MeasureTools
from lamefair_desktop.ui.panels.metadata_pane import MetadataPane
from lamefair_desktop.ui.panels.ruler import Ruler
from lamefair_desktop.ui.panels.scale_bar import make_scale_bar, reciprocal, remove_scale_bar
from lamefair_desktop.ui.panels.view_export import ViewExport, snapshot_of
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import general_pool

pg.setConfigOptions(imageAxisOrder="row-major")  # numpy images are (rows, columns)

# pyqtgraph's predefined gradients offered in the toolbar (its own menu is hidden in a right-click).
COLOUR_MAPS = ("grey", "viridis", "inferno", "magma", "plasma", "turbo", "thermal", "greyclip")


@dataclass(frozen=True)
class Loaded:
    """What crosses back to the UI thread after opening a file."""

    path: Path
    info: PreviewInfo
    metadata: dict[str, Any]
    frame: np.ndarray
    acquisition: tuple = ()  # acquisition_summary.Fact
    levels: tuple[float, float] | None = None  # robust levels of the first frame
    uniform: float | None = None  # every pixel of the first frame has this value
    request: int = 0
    databar: np.ndarray | None = None  # the vendor's data bar, apart from the image


@dataclass(frozen=True)
class FrameRead:
    request: int
    index: int
    frame: np.ndarray


class PreviewPanel(QWidget):
    loaded = Signal(object)  # Loaded
    frame_shown = Signal(int)
    failed = Signal(str)
    notice = Signal(str)  # an export written, a viewer started, or why not

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._preview: Preview | None = None
        self._file_lock = threading.Lock()
        self._frame_request = 0
        self._open_request = 0  # UI thread: the newest open_file
        self._preview_request = 0  # under _file_lock: the open that self._preview comes from
        self.levels: tuple[float, float] | None = None
        self._jobs: set[Job] = set()
        self.info: PreviewInfo | None = None
        self.frame: np.ndarray | None = None

        self.title = QLabel("Drop an image (TIFF, DM, EMD) or NeXus file here, or use File → Open.")
        self.image_view = pg.ImageView()
        self.image_view.ui.roiBtn.hide()
        self.image_view.ui.menuBtn.hide()
        self.image_view.setPredefinedGradient("grey")
        self.colour_map = QComboBox()
        self.colour_map.addItems(COLOUR_MAPS)
        self.colour_map.setToolTip("Colour map (greyclip shows saturated pixels in red)")
        self.colour_map.currentTextChanged.connect(self.image_view.setPredefinedGradient)
        self.auto_levels = QPushButton("Auto levels")
        self.auto_levels.setToolTip(
            "Black and white levels from the image, ignoring the darkest and brightest 0.1 % "
            "of its pixels (hot pixels, a burnt-in data bar)"
        )
        self.auto_levels.clicked.connect(self._reset_levels)
        self.scale_bar: pg.ScaleBar | None = None
        self.readout = QLabel(" ")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.frame_slider = QSlider(Qt.Orientation.Horizontal)
        self.frame_slider.setEnabled(False)
        self.frame_label = QLabel("")
        self.frame_slider.valueChanged.connect(self._request_frame)

        self.metadata = MetadataPane()
        self.metadata_model = self.metadata.model
        self.metadata_proxy = self.metadata.proxy
        self.metadata_view = self.metadata.view
        self.search = self.metadata.search

        self.data_bar = DataBarToggle()
        self.data_bar.button.toggled.connect(lambda _on: self._redisplay())
        self.measure = MeasureTools(self.image_view, self._describe_length)
        self.ruler = Ruler(self.image_view, self._describe_length)
        self.export = ViewExport(lambda: snapshot_of(self.image_view, self.info), self)
        self.viewers = ExternalViewers(self)
        self.export.exported.connect(lambda path: self._notify(f"Exported the view to {path}"))
        self.viewers.launched.connect(lambda name, f: self._notify(f"Opened {f} in {name}"))
        for source in (self.export.failed, self.viewers.failed):
            source.connect(self._notify)
        # Toolbars, not rows of buttons: on a small screen what does not fit goes behind the
        # toolbar's » menu instead of squeezing the metadata pane (a row's minimum width did).
        tools, share = QToolBar("Image tools"), QToolBar("Export and open elsewhere")
        for bar, widgets in (
            (
                tools,
                (QLabel("Colour map "), self.colour_map, self.auto_levels, self.data_bar.button),
            ),
            (
                tools,
                (None, self.measure.profile_button, self.measure.rect_button, self.ruler.button),
            ),
            (share, (self.export.button, *self.viewers.buttons.values())),
        ):
            for widget in widgets:
                bar.addWidget(widget) if widget is not None else bar.addSeparator()
        frames = QHBoxLayout()
        frames.addWidget(QLabel("Frame"))
        frames.addWidget(self.frame_slider, 1)
        frames.addWidget(self.frame_label)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.title)
        left_layout.addWidget(tools)
        left_layout.addWidget(share)
        left_layout.addWidget(self.image_view, 1)
        left_layout.addWidget(self.measure.plot)
        left_layout.addWidget(self.measure.stats)
        left_layout.addLayout(frames)
        left_layout.addWidget(self.readout)
        self.title.setWordWrap(True)  # a long title must not widen the window
        self.splitter = QSplitter()
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.metadata)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)

        self.image_view.getView().scene().sigMouseMoved.connect(self._mouse_moved)
        self.viewers.refresh()

    # --- opening ------------------------------------------------------------------------------

    def _start(self, fn, on_done, request: int | None = None) -> None:
        """Run `fn` on the pool; a failure of an open superseded by a newer one is not shown."""
        job = Job(fn)
        self._jobs.add(job)
        job.signals.finished.connect(on_done)
        job.signals.failed.connect(
            lambda message, _details: (
                self._on_failed(message) if request in (None, self._open_request) else None
            )
        )
        job.signals.finished.connect(lambda _result, job=job: self._jobs.discard(job))
        job.signals.failed.connect(lambda *_args, job=job: self._jobs.discard(job))
        job.start_on(general_pool())

    def open_file(self, path: str | Path) -> None:
        """Open a local file for preview (read on a worker; `loaded` or `failed` follows)."""
        path = Path(path)
        self.title.setText(f"Opening {path.name}…")
        self.readout.setText(" ")  # the last file's values must not stay under another image
        self._open_request += 1
        request = self._open_request

        def work(report, cancel) -> Loaded:
            preview = open_preview(path)
            try:
                frame = preview.frame(0)
                metadata = preview.metadata()
                acquisition = summarise_preview(preview)
                databar = preview.databar()
            except BaseException:
                preview.close()
                raise
            levels, uniform = robust_levels(frame)
            self._replace_preview(preview, request)
            return Loaded(
                path, preview.info, metadata, frame, acquisition, levels, uniform, request, databar
            )

        self._start(work, self._on_loaded, request)

    def _replace_preview(self, preview: Preview, request: int) -> None:
        """Keep the newest opened file; an older open finishing late closes its own file."""
        with self._file_lock:
            if request < self._preview_request:
                old = preview
            else:
                old, self._preview, self._preview_request = self._preview, preview, request
        if old is not None:
            old.close()

    def close_file(self) -> None:
        with self._file_lock:
            old, self._preview = self._preview, None
        if old is not None:
            old.close()

    def _on_failed(self, message: str) -> None:
        self.title.setText(f"Cannot show this file: {message}")
        self.failed.emit(message)

    def _notify(self, text: str) -> None:
        self.readout.setText(text)
        self.notice.emit(text)

    def _on_loaded(self, loaded: Loaded) -> None:
        if loaded.request != self._open_request:
            return  # superseded by a file opened since
        info = loaded.info
        self.info = info
        calibrated = info.pixel_x is not None and info.pixel_y is not None
        title = reciprocal(describe_image(info))
        if loaded.uniform is not None:
            title += f" — blank image: every pixel is {loaded.uniform:g}"
        self.title.setText(title)
        self.readout.setText(" ")
        self.levels = loaded.levels
        self.ruler.put_away()
        self.data_bar.set_bar(loaded.databar)  # hidden: the image region is shown
        self._show(loaded.frame, self._pitch(), auto_range=True)
        self.export.set_enabled(True)
        self.export.suggested_name = f"{loaded.path.stem}-view.png"
        self.viewers.set_source(loaded.path)
        self._set_scale_bar(info, calibrated)
        self.frame_slider.blockSignals(True)
        self.frame_slider.setRange(0, max(0, info.frames - 1))
        self.frame_slider.setValue(0)
        self.frame_slider.blockSignals(False)
        self.frame_slider.setEnabled(info.frames > 1)
        self.frame_label.setText(f"1 / {info.frames}")
        self.metadata.fill(loaded.acquisition, loaded.metadata, info.kind)
        self.loaded.emit(loaded)
        self.frame_shown.emit(0)

    def _pitch(self) -> tuple[float, float]:
        """Scene units per pixel: metres for images, nm⁻¹ for diffraction patterns (so that the
        scale bar reads 2 nm⁻¹, not 2 Gm⁻¹), pixels when uncalibrated."""
        info = self.info
        if info is None or info.pixel_x is None or info.pixel_y is None:
            return 1.0, 1.0
        factor = 1e-9 if info.unit == "1/m" else 1.0
        return info.pixel_x * factor, info.pixel_y * factor

    def _show(self, frame: np.ndarray, pitch: tuple[float, float], auto_range: bool) -> None:
        self.frame = frame
        shown = frame.astype(np.float32) if frame.dtype.kind == "b" else frame
        shown = self.data_bar.shown(shown)  # the data bar below the image, when asked for
        # Robust contrast, as microscopists expect: a few hot pixels or a burnt-in data bar must
        # not squash the image into the darkest grey levels. Frames of a stack keep the first
        # frame's levels (as in Fiji), until Auto levels is pressed.
        self.image_view.setImage(
            shown,
            scale=pitch,
            autoRange=auto_range,
            autoLevels=self.levels is None and auto_range,
            levels=self.levels,
        )
        self.measure.set_frame(frame, keep=not auto_range)

    def _redisplay(self) -> None:
        """The same frame again (the data bar shown or hidden), keeping zoom and levels."""
        if self.frame is not None:
            self.levels = tuple(self.image_view.getImageItem().getLevels())
            self._show(self.frame, self._pitch(), auto_range=False)

    def _describe_length(self, length: float) -> str:
        """A length in view units (see `_pitch`) as text in physical units."""
        if self.info is None or self.info.pixel_x is None:
            return f"{length:.4g} px"
        factor = 1e9 if self.info.unit == "1/m" else 1.0
        return reciprocal(format_length(length * factor, self.info.unit))

    def _reset_levels(self) -> None:
        if self.frame is None:
            return
        self.levels, _ = robust_levels(self.frame)
        if self.levels is not None:
            self.image_view.setLevels(*self.levels)

    def _set_scale_bar(self, info: PreviewInfo, calibrated: bool) -> None:
        remove_scale_bar(self.scale_bar)
        self.scale_bar = None
        if calibrated:
            self.scale_bar = make_scale_bar(info, self._pitch()[0], self.image_view.getView())

    # --- frames -------------------------------------------------------------------------------

    def _request_frame(self, index: int) -> None:
        if self.info is None:
            return
        self._frame_request += 1
        request = self._frame_request
        self.frame_label.setText(f"{index + 1} / {self.info.frames}")

        def work(report, cancel) -> FrameRead:
            with self._file_lock:
                if self._preview is None:
                    raise RuntimeError("no file is open")
                return FrameRead(request, index, self._preview.frame(index))

        self._start(work, self._on_frame)

    def _on_frame(self, read: FrameRead) -> None:
        if read.request != self._frame_request or self.info is None:
            return  # the slider has moved on: a newer read is coming
        self._show(read.frame, self._pitch(), auto_range=False)
        self.frame_shown.emit(read.index)

    # --- cursor -------------------------------------------------------------------------------

    def _mouse_moved(self, scene_pos) -> None:
        point = self.image_view.getView().mapSceneToView(scene_pos)
        self.show_value_at(point.x(), point.y())

    def show_value_at(self, x: float, y: float) -> str:
        """Read-out for a position in image coordinates (physical units when calibrated)."""
        if self.info is None or self.frame is None:
            return ""
        pitch_x, pitch_y = self._pitch()
        column, row = int(np.floor(x / pitch_x)), int(np.floor(y / pitch_y))
        rows, columns = self.frame.shape[:2]
        if not (0 <= row < rows and 0 <= column < columns):
            self.readout.setText(" ")
            return ""
        value = self.frame[row, column]
        if self.info.pixel_x is None:
            text = f"x = {column} px, y = {row} px, value = {value}"
        else:
            unit = self.info.unit
            text = (
                f"x = {format_length(column * self.info.pixel_x, unit)}, "
                f"y = {format_length(row * self.info.pixel_y, unit)}, value = {value}"
            )
        text = reciprocal(text)
        self.readout.setText(text)
        return text

    # --- drag and drop ------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        if event.mimeData().hasUrls() and all(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self.open_file(urls[0].toLocalFile())  # reading is queued on a worker
