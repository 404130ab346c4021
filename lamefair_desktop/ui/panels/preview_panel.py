"""Image preview for staff: TIFF and NeXus, calibrated scale, cursor read-out, frames, metadata.

All file reading happens on a worker (the Job adapter); the panel only shows results. Stale frame
reads (the slider moved on) are dropped. The open file is touched by one worker at a time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from lamefair_desktop.nexus.display import describe_image, format_length
from lamefair_desktop.nexus.preview import Preview, PreviewInfo, open_preview
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import general_pool

pg.setConfigOptions(imageAxisOrder="row-major")  # numpy images are (rows, columns)


@dataclass(frozen=True)
class Loaded:
    """What crosses back to the UI thread after opening a file."""

    path: Path
    info: PreviewInfo
    metadata: dict[str, Any]
    frame: np.ndarray


@dataclass(frozen=True)
class FrameRead:
    request: int
    index: int
    frame: np.ndarray


def _unit_suffix(unit: str) -> str:
    return {"m": "m", "1/m": "m⁻¹"}.get(unit, "px")


class PreviewPanel(QWidget):
    loaded = Signal(object)  # Loaded
    frame_shown = Signal(int)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._preview: Preview | None = None
        self._file_lock = threading.Lock()
        self._frame_request = 0
        self._jobs: set[Job] = set()
        self.info: PreviewInfo | None = None
        self.frame: np.ndarray | None = None

        self.title = QLabel("Drop an image (TIFF, DM, EMD) or NeXus file here, or use File → Open.")
        self.image_view = pg.ImageView()
        self.image_view.ui.roiBtn.hide()
        self.image_view.ui.menuBtn.hide()
        self.image_view.setPredefinedGradient("grey")
        self.scale_bar: pg.ScaleBar | None = None
        self.readout = QLabel(" ")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.frame_slider = QSlider(Qt.Orientation.Horizontal)
        self.frame_slider.setEnabled(False)
        self.frame_label = QLabel("")
        self.frame_slider.valueChanged.connect(self._request_frame)

        self.metadata_model = QStandardItemModel(0, 2)
        self.metadata_model.setHorizontalHeaderLabels(["key", "value"])
        self.metadata_proxy = QSortFilterProxyModel()
        self.metadata_proxy.setSourceModel(self.metadata_model)
        self.metadata_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.metadata_proxy.setRecursiveFilteringEnabled(True)
        self.metadata_proxy.setFilterKeyColumn(-1)
        self.metadata_view = QTreeView()
        self.metadata_view.setModel(self.metadata_proxy)
        self.metadata_view.setUniformRowHeights(True)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search metadata…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter_metadata)

        frames = QHBoxLayout()
        frames.addWidget(QLabel("Frame"))
        frames.addWidget(self.frame_slider, 1)
        frames.addWidget(self.frame_label)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.title)
        left_layout.addWidget(self.image_view, 1)
        left_layout.addLayout(frames)
        left_layout.addWidget(self.readout)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.search)
        right_layout.addWidget(self.metadata_view, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([700, 350])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        self.image_view.getView().scene().sigMouseMoved.connect(self._mouse_moved)

    # --- opening ------------------------------------------------------------------------------

    def _start(self, fn, on_done) -> None:
        job = Job(fn)
        self._jobs.add(job)
        job.signals.finished.connect(on_done)
        job.signals.failed.connect(lambda message, _details: self._on_failed(message))
        job.signals.finished.connect(lambda _result, job=job: self._jobs.discard(job))
        job.signals.failed.connect(lambda *_args, job=job: self._jobs.discard(job))
        job.start_on(general_pool())

    def open_file(self, path: str | Path) -> None:
        """Open a local file for preview (read on a worker; `loaded` or `failed` follows)."""
        path = Path(path)
        self.title.setText(f"Opening {path.name}…")

        def work(report, cancel) -> Loaded:
            preview = open_preview(path)
            with self._file_lock:
                frame = preview.frame(0)
                metadata = preview.metadata()
            self._replace_preview(preview)
            return Loaded(path, preview.info, metadata, frame)

        self._start(work, self._on_loaded)

    def _replace_preview(self, preview: Preview) -> None:
        with self._file_lock:
            old, self._preview = self._preview, preview
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

    def _on_loaded(self, loaded: Loaded) -> None:
        info = loaded.info
        self.info = info
        calibrated = info.pixel_x is not None and info.pixel_y is not None
        pitch = (info.pixel_x, info.pixel_y) if calibrated else (1.0, 1.0)
        self.title.setText(describe_image(info))
        self._show(loaded.frame, pitch, auto_range=True)
        self._set_scale_bar(info, calibrated)
        self.frame_slider.blockSignals(True)
        self.frame_slider.setRange(0, max(0, info.frames - 1))
        self.frame_slider.setValue(0)
        self.frame_slider.blockSignals(False)
        self.frame_slider.setEnabled(info.frames > 1)
        self.frame_label.setText(f"1 / {info.frames}")
        self._fill_metadata(loaded.metadata, info.kind)
        self.loaded.emit(loaded)
        self.frame_shown.emit(0)

    def _show(self, frame: np.ndarray, pitch: tuple[float, float], auto_range: bool) -> None:
        self.frame = frame
        shown = frame.astype(np.float32) if frame.dtype.kind == "b" else frame
        levels = None
        if auto_range:
            # Robust contrast, as microscopists expect: a few hot pixels or a burnt-in data bar
            # must not squash the image into the darkest grey levels.
            sample = shown[:: max(1, shown.shape[0] // 512), :: max(1, shown.shape[1] // 512)]
            low, high = np.percentile(sample[np.isfinite(sample)], [0.2, 99.8])
            levels = (float(low), float(high)) if high > low else None
        self.image_view.setImage(
            shown,
            scale=pitch,
            autoRange=auto_range,
            autoLevels=auto_range and levels is None,
            levels=levels,
        )

    def _set_scale_bar(self, info: PreviewInfo, calibrated: bool) -> None:
        view = self.image_view.getView()
        if self.scale_bar is not None:
            # Attached with setParentItem, so it leaves its scene directly (not the view's items).
            scene = self.scale_bar.scene()
            if scene is not None:
                scene.removeItem(self.scale_bar)
            self.scale_bar = None
        if not calibrated:
            return
        width = info.frame_shape[1] * info.pixel_x
        size = _nice_length(width / 5)
        self.scale_bar = pg.ScaleBar(size=size, suffix=_unit_suffix(info.unit))
        self.scale_bar.setParentItem(view)
        self.scale_bar.anchor((1, 1), (1, 1), offset=(-20, -20))

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
        pitch = (self.info.pixel_x or 1.0, self.info.pixel_y or 1.0)
        self._show(read.frame, pitch, auto_range=False)
        self.frame_shown.emit(read.index)

    # --- cursor -------------------------------------------------------------------------------

    def _mouse_moved(self, scene_pos) -> None:
        point = self.image_view.getView().mapSceneToView(scene_pos)
        self.show_value_at(point.x(), point.y())

    def show_value_at(self, x: float, y: float) -> str:
        """Read-out for a position in image coordinates (physical units when calibrated)."""
        if self.info is None or self.frame is None:
            return ""
        pitch_x = self.info.pixel_x or 1.0
        pitch_y = self.info.pixel_y or 1.0
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
                f"x = {format_length(column * pitch_x, unit)}, "
                f"y = {format_length(row * pitch_y, unit)}, value = {value}"
            )
        self.readout.setText(text)
        return text

    # --- metadata -----------------------------------------------------------------------------

    def _fill_metadata(self, metadata: dict[str, Any], kind: str) -> None:
        self.metadata_model.removeRows(0, self.metadata_model.rowCount())
        root = self.metadata_model.invisibleRootItem()
        if kind == "tiff":
            for key, value in metadata.items():
                root.appendRow([_item(key), _item(value)])
        else:
            _add_tree(root, metadata)
        self.metadata_view.expandToDepth(1 if kind == "nexus" else 0)
        self.metadata_view.setColumnWidth(0, 260)

    def _filter_metadata(self, text: str) -> None:
        self.metadata_proxy.setFilterFixedString(text)
        if text:
            self.metadata_view.expandAll()

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


def _item(value: Any) -> QStandardItem:
    item = QStandardItem(str(value) if not isinstance(value, str) else value)
    item.setEditable(False)
    return item


def _add_tree(parent: QStandardItem, tree: dict[str, Any]) -> None:
    for key, value in tree.items():
        if isinstance(value, dict) and "value" not in value:
            cls = value.get("@NX_class", "")
            group = _item(key)
            parent.appendRow([group, _item(cls)])
            _add_tree(group, value)
        elif isinstance(value, dict):
            field = _item(key)
            parent.appendRow([field, _item(value["value"])])
            for attr, attr_value in value.items():
                if attr.startswith("@"):
                    field.appendRow([_item(attr), _item(attr_value)])
        else:
            parent.appendRow([_item(key), _item(value)])


def _nice_length(length: float) -> float:
    """1, 2 or 5 times a power of ten, at most `length` (scale bar sizes people read easily)."""
    if length <= 0:
        return 1.0
    exponent = np.floor(np.log10(length))
    base = 10**exponent
    for step in (5, 2, 1):
        if step * base <= length:
            return float(step * base)
    return float(base)
