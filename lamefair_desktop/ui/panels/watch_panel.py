"""The Watch tab: watch-folder rules (folder → experiment and instrument pair), their state, and a
live log of what the watcher takes, waits for or cannot read."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lamefair_catalog.shared import GENERIC_PAIR
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.ui.look import ProblemLabel
from lamefair_desktop.ui.zone_field import ZoneField
from lamefair_desktop.watch.rules import DEFAULT_EXCLUDE, WatchEvent, WatchRule, WatchStore
from lamefair_desktop.workers.job import JobGroup

LOG_LINES = 2000  # the live log keeps the newest lines


def proposed_pair(settings: Settings, experiment_id: str | None) -> str | None:
    """The pair a new rule proposes: the one last used for its experiment, else this
    computer's default (None: detect from each file)."""
    remembered = settings.pairs_by_experiment.get(experiment_id) if experiment_id else None
    return remembered or settings.default_pair


class WatchRuleDialog(QDialog):
    """A new rule: the folder, where its files go, how they are recognised as finished."""

    def __init__(
        self,
        *,
        server: str,
        pairs: list[tuple[str, str]],
        experiment_id: str | None,
        experiment_name: str,
        default_pair: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """`default_pair`: the pair remembered for the experiment, else this computer's
        default; None (or unknown here) proposes "Detect from each file"."""
        super().__init__(parent)
        self.server = server
        self.experiment_id = experiment_id
        self.setWindowTitle("New watch folder")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("the folder the acquisition software writes to")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.fixed = QRadioButton(f"Experiment {experiment_name}" if experiment_id else "")
        self.follow = QRadioButton("The experiment selected in lamefair at the time")
        self.fixed.setVisible(bool(experiment_id))
        (self.fixed if experiment_id else self.follow).setChecked(True)
        self.pair = QComboBox()
        for pair_id, label in pairs:
            shown = "Detect from each file" if pair_id == GENERIC_PAIR else label
            self.pair.addItem(shown, pair_id)
        # Never the list's first item by accident: a JEOL diffraction file converted with a
        # Gatan mapping lacks its voltage and camera length, and still validates. Unset means
        # detect from each file, like the upload dialog.
        chosen = self.pair.findData(default_pair) if default_pair else -1
        if chosen < 0:
            chosen = self.pair.findData(GENERIC_PAIR)
        self.pair.setCurrentIndex(max(chosen, 0))
        self.timezone = ZoneField(placeholder="default: the pair's, else this computer's")
        self.timezone.setToolTip(
            "The time zone of the microscope's clock (IANA name, e.g. Europe/Rome): the "
            "acquisition times in its files are read in it."
        )
        self.include = QLineEdit()
        self.include.setPlaceholderText("e.g. *.tif, *.dm4 (empty: every file)")
        self.quiet = QDoubleSpinBox()
        self.quiet.setRange(0.5, 600)
        self.quiet.setValue(5.0)
        self.quiet.setSuffix(" s unchanged")
        self.polling = QCheckBox("Network share: poll instead of file events")
        self.convert = QCheckBox("Convert images to NXem after upload")
        self.convert.setChecked(True)
        self.free_space = QCheckBox(
            "Delete local files after the catalog has confirmed their SHA-256"
        )
        self.error = ProblemLabel()
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Folder", folder_row)
        form.addRow("Files go to", self.fixed)
        form.addRow("", self.follow)
        form.addRow("Instrument pair", self.pair)
        form.addRow("Instrument time zone", self.timezone)
        form.addRow("Take only", self.include)
        form.addRow("Finished when", self.quiet)
        form.addRow("", self.polling)
        form.addRow("", self.convert)
        form.addRow("", self.free_space)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Watch")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Watch which folder?")
        if folder:
            self.folder.setText(folder)

    def rule(self) -> WatchRule | None:
        folder = self.folder.text().strip()
        if not folder:
            self.error.setText("Choose the folder to watch.")
            return None
        try:
            timezone = self.timezone.zone()
        except ValueError as exc:
            self.error.setText(f"Instrument time zone: {exc}.")
            return None
        patterns = tuple(p.strip() for p in self.include.text().split(",") if p.strip())
        return WatchRule(
            id=str(uuid.uuid4()),
            server=self.server,
            folder=folder,
            experiment_id=self.experiment_id if self.fixed.isChecked() else "",
            pair=self.pair.currentData(),
            include=patterns,
            exclude=DEFAULT_EXCLUDE,
            quiet_seconds=self.quiet.value(),
            polling=self.polling.isChecked(),
            convert=self.convert.isChecked(),
            free_space=self.free_space.isChecked(),
            timezone=timezone,
        )

    def accept(self) -> None:
        if self.rule() is not None:
            super().accept()


COLUMNS = ("Folder", "Files go to", "Pair", "Time zone", "Mode", "State")


class WatchPanel(QWidget):
    rules_changed = Signal()
    rules_loaded = Signal(int)
    logged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store: WatchStore | None = None
        self.server = ""
        self.rules: list[WatchRule] = []
        self.names: dict[str, str] = {}  # experiment id -> name, for the table
        self._jobs = JobGroup(lambda message: self.append(WatchEvent("", "", message, "error")))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.add_button = QPushButton("Add watch folder…")
        self.remove_button = QPushButton("Remove")
        self.toggle_button = QPushButton("Pause / resume")
        self.remove_button.clicked.connect(self.remove_selected)
        self.toggle_button.clicked.connect(self.toggle_selected)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.toggle_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.table, 1)
        top_layout.addLayout(buttons)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setPlaceholderText(
            "What the watcher takes, waits for or cannot read appears here."
        )
        splitter = self.splitter = QSplitter(Qt.Orientation.Vertical)  # remembered
        splitter.addWidget(top)
        splitter.addWidget(self.log)
        splitter.setSizes([260, 340])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def attach(self, store: WatchStore, server: str) -> None:
        self.store, self.server = store, server
        self.reload()

    def _run(self, work, done=None) -> None:
        self._jobs.run(work, done)

    def reload(self) -> None:
        if self.store is None:
            return
        store, server = self.store, self.server
        self._run(lambda: store.rules(server), self._show)

    def _show(self, rules: list[WatchRule]) -> None:
        self.rules = rules
        self.table.setRowCount(len(rules))
        for row, rule in enumerate(rules):
            target = (
                self.names.get(rule.experiment_id, rule.experiment_id)
                if rule.experiment_id
                else "the selected experiment"
            )
            mode = "polling" if rule.polling else "file events"
            if rule.free_space:
                mode += ", frees space"
            zone = rule.timezone or "default"
            state = "watching" if rule.enabled else "paused"
            cells = (rule.folder, target, rule.pair, zone, mode, state)
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.rules_loaded.emit(len(rules))

    def add_rule(self, rule: WatchRule) -> None:
        store = self.store

        def done(_saved) -> None:
            self.append(WatchEvent(rule.id, rule.folder, f"Added {rule.folder}."))
            self.reload()
            self.rules_changed.emit()

        self._run(lambda: store.save_rule(rule), done)

    def _selected(self) -> WatchRule | None:
        rows = self.table.selectionModel().selectedRows()
        return self.rules[rows[0].row()] if rows else None

    def remove_selected(self) -> None:
        rule, store = self._selected(), self.store
        if rule is None:
            return
        self._run(lambda: store.remove_rule(rule.id), self._changed)

    def toggle_selected(self) -> None:
        rule, store = self._selected(), self.store
        if rule is None:
            return
        switched = replace(rule, enabled=not rule.enabled)
        self._run(lambda: store.save_rule(switched), self._changed)

    def _changed(self, _result=None) -> None:
        self.reload()
        self.rules_changed.emit()

    def append(self, event: WatchEvent) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
        mark = {"error": "✗ ", "warning": "! "}.get(event.level, "")
        line = f"{stamp}  {mark}{event.message}"
        self.log.appendPlainText(line)
        self.logged.emit(line)
