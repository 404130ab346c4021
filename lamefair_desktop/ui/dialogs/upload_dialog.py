"""The dialog after files are dropped on an experiment: instrument pair and its clock's time zone,
operator, description, convert or not, and per file what was detected and what its NXem will lack.

The files are read on a worker (tags only, never the frames); the dialog itself does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lamefair_catalog.shared import GENERIC_PAIR
from lamefair_desktop.nexus.acquisition_summary import Fact, one_line, summarise_file
from lamefair_desktop.nexus.errors import NexusEngineError
from lamefair_desktop.nexus.writer import anticipate
from lamefair_desktop.transfer.derived import wants_conversion
from lamefair_desktop.transfer.errors import UploadError
from lamefair_desktop.transfer.registration import LocalFile, collect_files
from lamefair_desktop.ui.format import human_size
from lamefair_desktop.ui.look import ProblemLabel, problem_colour
from lamefair_desktop.ui.thumbnail_icons import ThumbnailIcons, scaled
from lamefair_desktop.ui.zone_field import ZoneField
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import general_pool

THUMB = 40  # pixels of a row's thumbnail: the rows stay compact, the image recognisable
PREVIEW_LIMIT = 100  # files anticipated in the dialog; a folder of thousands is not read twice


@dataclass(frozen=True)
class UploadRequest:
    experiment_id: str
    inputs: tuple[Path, ...]
    pair: str
    operator: str
    description: str
    convert: bool
    timezone: str = ""  # IANA zone of the instrument's clock, for the conversion


@dataclass(frozen=True)
class FileLook:
    """What the dialog shows for one file."""

    rel_path: str
    size: int
    flavour: str = ""
    pair: str = ""
    frames: int = 0
    calibrated: bool = False
    acquisition: tuple[Fact, ...] = ()  # voltage, pixel size... from the tags (no pixel read)
    lacking: tuple[str, ...] = ()
    problem: str = ""
    warnings: tuple[str, ...] = ()  # e.g. the chosen pair is made for another flavour
    source: str = ""  # the local image, for its thumbnail (rendered on a worker)


@dataclass(frozen=True)
class Inspection:
    files: tuple[FileLook, ...]
    problem: str = ""  # the whole selection cannot be uploaded (a missing file, a bad name)


def inspect_inputs(inputs: list[Path], pair: str, context: dict) -> Inspection:
    """Worker side: list the files and anticipate the conversion of the first TIFFs."""
    try:
        files: list[LocalFile] = collect_files(inputs)
    except (UploadError, OSError) as exc:
        return Inspection((), str(exc))
    looks = []
    previewed = 0
    for item in files:
        if not wants_conversion(item.rel_path) or previewed >= PREVIEW_LIMIT:
            looks.append(FileLook(item.rel_path, item.size))
            continue
        previewed += 1
        chosen = None if pair == GENERIC_PAIR else pair
        try:
            seen = anticipate(item.path, pair=chosen, context=context)
            facts = summarise_file(item.path, chosen)
        except NexusEngineError as exc:
            looks.append(FileLook(item.rel_path, item.size, problem=str(exc)))
            continue
        looks.append(
            FileLook(
                item.rel_path,
                item.size,
                seen.flavour,
                seen.pair,
                seen.frames,
                seen.calibrated,
                facts,
                seen.lacking,
                warnings=seen.warnings,
                source=str(item.path),
            )
        )
    return Inspection(tuple(looks))


COLUMNS = (
    "File",
    "Size",
    "Detected",
    "Mapping",
    "Frames",
    "Pixel size",
    "Acquisition",
    "NXem will lack",
)


class UploadDialog(QDialog):
    inspected = Signal(object)  # Inspection, once the worker has read the files

    def __init__(
        self,
        inputs: list[Path],
        *,
        experiment_id: str,
        experiment_name: str,
        pairs: list[tuple[str, str]],
        context: dict,
        operator: str = "",
        remembered_pair: str | None = None,
        timezone: str = "",
        icons: ThumbnailIcons | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.icons = icons or ThumbnailIcons(self)
        self.icons.ready.connect(self._thumbnail_ready)
        self._thumbnail_rows: dict[str, int] = {}  # key -> row waiting for its picture
        self.inputs = [Path(p) for p in inputs]
        self.experiment_id = experiment_id
        self.context = context
        self.remembered_pair = remembered_pair
        self.inspection: Inspection | None = None
        self._jobs: set[Job] = set()
        self._generation = 0
        self.setWindowTitle(f"Upload to {experiment_name}")
        self.pair_box = QComboBox()
        for pair_id, label in pairs:
            shown = "Detect from each file (generic mapping otherwise)"
            self.pair_box.addItem(shown if pair_id == GENERIC_PAIR else label, pair_id)
        if remembered_pair is not None:
            self._select_pair(remembered_pair)
        else:
            self._select_pair(GENERIC_PAIR)
        self.pair_box.currentIndexChanged.connect(lambda _i: self.refresh())
        self.operator = QLineEdit(operator)
        self.operator.setPlaceholderText("who is at the microscope")
        self.operator.editingFinished.connect(self.refresh)
        self.description = QLineEdit()
        self.description.setPlaceholderText("what this measurement is (grid, area, conditions)")
        # Vendor headers hold local time without a zone: the conversion reads them in this one.
        self.timezone = ZoneField(timezone, placeholder="e.g. Europe/Berlin")
        self.timezone.setToolTip(
            "The time zone of the microscope's clock (IANA name): acquisition times in the "
            "files are read in it, with the offset in force when each image was taken."
        )
        self.convert = QCheckBox("Convert images to NeXus/NXem after upload (mirror bucket)")
        self.convert.setChecked(True)
        self.convert.toggled.connect(self.timezone.setEnabled)
        self.problem = ProblemLabel()
        self.problem.setWordWrap(True)
        self.problem.hide()
        form = QFormLayout()
        form.addRow("Instrument pair", self.pair_box)
        form.addRow("Instrument time zone", self.timezone)
        form.addRow("", self.problem)
        form.addRow("Operator", self.operator)
        form.addRow("Description", self.description)
        form.addRow("", self.convert)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 4)
        header = self.table.horizontalHeader()
        self.table.setWordWrap(False)  # one line per file; the full text is in the tooltips
        for column in ("File", "Acquisition"):
            header.setSectionResizeMode(COLUMNS.index(column), QHeaderView.ResizeMode.Stretch)
        header.resizeSection(len(COLUMNS) - 1, 140)  # a count; the list is in the tooltip
        for column in ("Size", "Detected", "Frames", "Pixel size"):
            header.setSectionResizeMode(
                COLUMNS.index(column), QHeaderView.ResizeMode.ResizeToContents
            )
        self.summary = QLabel("Reading the files…")
        self.summary.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Upload")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        self.resize(980, 480)
        self.refresh()

    def _select_pair(self, pair: str) -> None:
        index = self.pair_box.findData(pair)
        if index >= 0:
            self.pair_box.setCurrentIndex(index)

    @property
    def pair(self) -> str:
        return self.pair_box.currentData()

    def refresh(self) -> None:
        """Read the files again for the chosen pair and operator (on a worker)."""
        self._generation += 1
        generation, inputs, pair = self._generation, list(self.inputs), self.pair
        context = {
            **self.context,
            "measurement": {"operator": self.operator.text().strip()},
        }
        job = Job(lambda report, cancel: inspect_inputs(inputs, pair, context))
        self._jobs.add(job)
        job.signals.finished.connect(lambda result, j=job: self._show(result, generation, j))
        job.signals.failed.connect(
            lambda message, _d, j=job: self._show(Inspection((), message), generation, j)
        )
        job.start_on(general_pool())

    def _show(self, inspection: Inspection, generation: int, job: Job) -> None:
        self._jobs.discard(job)
        if generation != self._generation:
            return  # an older answer, for a pair no longer chosen
        self.inspection = inspection
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if inspection.problem:
            self.summary.setText(f"Cannot upload this selection: {inspection.problem}")
            ok.setEnabled(False)
            self.inspected.emit(inspection)
            return
        self.table.setRowCount(len(inspection.files))
        for row, look in enumerate(inspection.files):
            pixel = next((f.text for f in look.acquisition if f.label == "Pixel size"), "")
            scale = pixel or ("pixels only" if look.flavour else "")
            others = tuple(f for f in look.acquisition if f.label != "Pixel size")
            lacking = f"{len(look.lacking)} item(s)" if look.lacking else ""
            if look.flavour and not look.lacking:
                lacking = "nothing"
            cells = (
                look.rel_path,
                human_size(look.size),
                look.flavour or ("unreadable image" if look.problem else "—"),
                f"{look.pair} (not for {look.flavour} files)" if look.warnings else look.pair,
                str(look.frames or ""),
                scale,
                one_line(others),
                look.problem or lacking,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == len(COLUMNS) - 1 and (look.lacking or look.problem):
                    item.setToolTip(look.problem or "\n".join(look.lacking))
                if column == COLUMNS.index("Acquisition") and look.acquisition:
                    item.setToolTip("\n".join(f"{f.label}: {f.text}" for f in look.acquisition))
                if column == COLUMNS.index("Mapping") and look.warnings:
                    item.setToolTip("\n".join(look.warnings))
                    item.setForeground(problem_colour(self.table.palette()))
                self.table.setItem(row, column, item)
            self._show_thumbnail(row, look)
        pairs = {look.pair for look in inspection.files if look.pair}
        if self.remembered_pair is None and self.pair == GENERIC_PAIR and len(pairs) == 1:
            self.remembered_pair = pairs.pop()  # every TIFF says the same: propose that pair
            self._select_pair(self.remembered_pair)
            return  # the change of pair reads the files again
        total = sum(look.size for look in inspection.files)
        tiffs = sum(1 for look in inspection.files if wants_conversion(look.rel_path))
        broken = sum(1 for look in inspection.files if look.problem)
        text = f"{len(inspection.files)} file(s), {human_size(total)}; {tiffs} image(s) to convert."
        if broken:
            text += (
                f" {broken} image(s) cannot be read: they are uploaded as they are, not converted."
            )
        misfits = sum(1 for look in inspection.files if look.warnings)
        if misfits:
            text += (
                f" The chosen instrument pair is not made for {misfits} image(s): their NXem may "
                "name the wrong microscope (see the Mapping column)."
            )
        self.summary.setText(text)
        ok.setEnabled(bool(inspection.files))
        self.inspected.emit(inspection)

    def _show_thumbnail(self, row: int, look: FileLook) -> None:
        if not look.source or not look.flavour:
            return
        pixmap = self.icons.local(look.source)
        if pixmap is not None:
            self.table.item(row, 0).setIcon(QIcon(scaled(pixmap, THUMB)))
        else:
            self._thumbnail_rows[f"local:{look.source}"] = row

    def _thumbnail_ready(self, key: str) -> None:
        row = self._thumbnail_rows.pop(key, None)
        pixmap = self.icons.pixmap(key)
        item = self.table.item(row, 0) if row is not None else None
        if pixmap is not None and item is not None and item.text() in key:
            item.setIcon(QIcon(scaled(pixmap, THUMB)))

    def thumbnail_shown(self, row: int) -> bool:
        """Whether a row shows its image's thumbnail (tests)."""
        item = self.table.item(row, 0)
        return item is not None and not item.icon().isNull()

    def zone_problem(self) -> str:
        """Why the time zone field cannot be used ("" when it can), in the field's words."""
        if not self.convert.isChecked():
            return ""
        try:
            if self.timezone.zone() is None:
                return "Instrument time zone: expected an IANA name such as Europe/Berlin."
        except ValueError as exc:
            return f"Instrument time zone: {exc}."
        return ""

    def accept(self) -> None:
        problem = self.zone_problem()
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        if not problem:
            super().accept()

    def request(self) -> UploadRequest:
        return UploadRequest(
            experiment_id=self.experiment_id,
            inputs=tuple(self.inputs),
            pair=self.pair,
            operator=self.operator.text().strip(),
            description=self.description.text().strip(),
            convert=self.convert.isChecked(),
            timezone=self.timezone.currentText().strip(),
        )

    def done(self, result: int) -> None:  # noqa: D401 - Qt's name
        self._generation += 1  # late answers are ignored
        super().done(result)
