"""The Find panel: search the catalog by what the microscope did (GET /api/search).

Filters on top, facet counts on the left (a click filters by that value), results on the right;
double-click (or Open) previews a hit's NXem, "Show in tree" selects its file in the catalog
tree, Download fetches the raw file. Every request runs in a Job; an answer to a search that
was replaced meanwhile is dropped by the model's generation (catalog/search.SearchResults).

Views of the results: the table, and the thumbnail grid (find_grid.py; the Grid button or
Ctrl+G toggles, the window remembers the choice). Both are views of the same `SearchModel`,
added through `add_results_view`, which gives each the same double-click, selection and context
menu (Open in preview, Show in tree, Download).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lamefair_desktop.catalog.search import SearchFilters
from lamefair_desktop.ui.date_field import DateField
from lamefair_desktop.ui.models.search_model import HIT_ROLE, SearchModel
from lamefair_desktop.ui.panels.find_facets import FACET_ROLE, FacetTree
from lamefair_desktop.ui.panels.find_grid import FindGrid
from lamefair_desktop.ui.thumbnail_icons import ThumbnailIcons
from lamefair_desktop.workers.job import JobGroup

ERROR_STYLE = "QLineEdit { border: 1px solid #c62828; }"
TABLE, GRID = "Table", "Grid"  # the views of the results, by name


class FieldProblem(ValueError):
    def __init__(self, field: QLineEdit, message: str) -> None:
        super().__init__(message)
        self.field = field


def _range(field_low: QLineEdit, field_high: QLineEdit, label: str, scale: float) -> str:
    """Two fields in the unit shown (kV, nm) as the API's SI range text ("" when both empty)."""
    ends = []
    for field in (field_low, field_high):
        text = field.text().strip().replace(",", ".")
        if not text:
            ends.append("")
            continue
        try:
            ends.append(f"{float(text) * scale:g}")
        except ValueError:
            raise FieldProblem(field, f"{label}: {text!r} is not a number.") from None
    return "" if ends == ["", ""] else f"{ends[0]}..{ends[1]}"


def _chosen(combo: QComboBox) -> tuple[str, ...]:
    text = combo.currentText().strip()
    return (text,) if text else ()


class FindPanel(QWidget):
    preview_requested = Signal(dict)  # a hit: preview its NXem
    tree_requested = Signal(dict)  # a hit: select its file in the catalog tree
    download_requested = Signal(dict)  # a hit: download its raw file
    searched = Signal(int)  # total found, once a first page is shown (tests, the bench)
    view_changed = Signal(str)  # the name of the view of the results now shown

    def __init__(self, parent: QWidget | None = None, icons: ThumbnailIcons | None = None) -> None:
        super().__init__(parent)
        self.client = None
        self.icons = icons or ThumbnailIcons(self)
        self.model = SearchModel(self)
        self._jobs = JobGroup(self._show_problem)
        self.model.page_wanted.connect(self._fetch)
        self.model.facets_changed.connect(self._show_facets)

        self.text = QLineEdit(placeholderText="Words in file names, descriptions, samples…")
        self.instrument = QComboBox(editable=True)
        self.detector = QComboBox(editable=True)
        self.operator = QComboBox(editable=True)
        for combo, hint in (
            (self.instrument, "any instrument"),
            (self.detector, "any detector"),
            (self.operator, "anyone"),
        ):
            combo.lineEdit().setPlaceholderText(hint)
            combo.lineEdit().returnPressed.connect(self.search)
        self.voltage_low, self.voltage_high = self._pair("kV")
        self.pixel_low, self.pixel_high = self._pair("nm")
        self.date_from, self.date_to = DateField(), DateField()
        self.elements = QLineEdit(placeholderText="e.g. Fe, O (all of them)")
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        for field in (self.text, self.elements):
            field.returnPressed.connect(self.search)

        form = QFormLayout()
        form.addRow("Text", self.text)
        row = QHBoxLayout()
        for label, widget in (
            ("Instrument", self.instrument),
            ("Detector", self.detector),
            ("Operator", self.operator),
        ):
            row.addWidget(QLabel(label))
            row.addWidget(widget, 1)
        form.addRow(row)
        row = QHBoxLayout()
        for label, low, high in (
            ("Voltage (kV)", self.voltage_low, self.voltage_high),
            ("Pixel size (nm)", self.pixel_low, self.pixel_high),
        ):
            row.addWidget(QLabel(label))
            row.addWidget(low)
            row.addWidget(QLabel("to"))
            row.addWidget(high)
            row.addSpacing(24)
        row.addStretch(1)
        form.addRow(row)
        row = QHBoxLayout()
        row.addWidget(QLabel("Acquired from"))
        row.addWidget(self.date_from)
        row.addWidget(QLabel("to"))
        row.addWidget(self.date_to)
        row.addWidget(QLabel("Elements"))
        row.addWidget(self.elements, 1)
        row.addWidget(self.clear_button)
        row.addWidget(self.search_button)
        form.addRow(row)

        self.facets = FacetTree()
        self.facets.itemClicked.connect(self._facet_clicked)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.grid = FindGrid(self.icons)
        self.grid.set_source(self.model)
        self.results_views = QStackedWidget()
        self._views: dict[str, QAbstractItemView] = {}
        self.add_results_view(TABLE, self.table)
        self.add_results_view(GRID, self.grid)
        self.grid_button = QToolButton()
        self.grid_button.setText("Grid")
        self.grid_button.setCheckable(True)
        self.grid_button.setToolTip("Show thumbnails instead of the table (Ctrl+G toggles)")
        self.grid_button.setShortcut("Ctrl+G")
        self.grid_button.toggled.connect(lambda on: self.show_view(GRID if on else TABLE))
        self.status = QLabel("Search by what the microscope did: filters above, then Search.")
        self.status.setWordWrap(True)
        # What can be done with a hit: the buttons below the results and every view's menu.
        self.hit_actions = (
            ("Open in preview", self.preview_requested),
            ("Show in tree", self.tree_requested),
            ("Download…", self.download_requested),
        )
        self.open_button, self.tree_button, self.download_button = (
            QPushButton(text) for text, _signal in self.hit_actions
        )
        for button, (_text, signal) in zip(self.hit_buttons(), self.hit_actions, strict=True):
            button.clicked.connect(lambda _=False, s=signal: self._emit_selected(s))
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.grid_button)
        for button in self.hit_buttons():
            buttons.addWidget(button)
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.results_views, 1)
        results_layout.addLayout(buttons)
        split = QSplitter()
        split.addWidget(self.facets)
        split.addWidget(results)
        split.setSizes([230, 700])
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(split, 1)
        self._update_buttons()

    @staticmethod
    def _pair(unit: str) -> tuple[QLineEdit, QLineEdit]:
        low, high = QLineEdit(placeholderText="min"), QLineEdit(placeholderText="max")
        for field in (low, high):
            field.setMaximumWidth(80)
            field.setToolTip(f"In {unit}; leave one end empty for an open range.")
        return low, high

    # --- the hook for other views of the results ----------------------------------------------

    def add_results_view(self, name: str, view: QAbstractItemView) -> None:
        """Add a view of `self.model` (a view without a model gets it; a proxy over it is kept)
        with the actions every view has: double-click previews, the context menu."""
        if view.model() is None:
            view.setModel(self.model)
        view.doubleClicked.connect(self.open_index)
        view.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(
            lambda pos, v=view: self.context_menu(v, pos).popup(v.viewport().mapToGlobal(pos))
        )
        self._views[name] = view
        self.results_views.addWidget(view)

    def show_view(self, name: str) -> None:
        """Show the named view of the results (an unknown name, say from an older version's
        saved state, shows the table)."""
        view = self._views.get(name) or self.table
        self.results_views.setCurrentWidget(view)
        self.grid_button.blockSignals(True)
        self.grid_button.setChecked(view is self.grid)
        self.grid_button.blockSignals(False)
        self._update_buttons()
        self.view_changed.emit(self.view_name())

    def view_name(self) -> str:
        current = self.results_views.currentWidget()
        return next(name for name, view in self._views.items() if view is current)

    # --- searching ----------------------------------------------------------------------------

    def attach(self, client, settings=None) -> None:
        """The workspace's client, and its settings for the thumbnail cache's folder."""
        self.client = client
        if settings is not None:
            self.icons.ensure(client, settings)

    def filters(self) -> SearchFilters:
        """The filters as the fields say; FieldProblem names the field that is not understood."""
        elements = tuple(e for e in self.elements.text().replace(",", " ").split() if e)
        return SearchFilters(
            text=self.text.text(),
            ranges={
                "voltage": _range(self.voltage_low, self.voltage_high, "Voltage", 1e3),
                "pixel_size": _range(self.pixel_low, self.pixel_high, "Pixel size", 1e-9),
            },
            instruments=_chosen(self.instrument),
            detectors=_chosen(self.detector),
            operators=_chosen(self.operator),
            elements=elements,
            date_from=self.date_from.value_text(),
            date_to=self.date_to.value_text(),
            limit=100,
        )

    def search(self) -> None:
        for field in self.findChildren(QLineEdit):
            field.setStyleSheet("")
        try:
            filters = self.filters()
        except FieldProblem as problem:
            problem.field.setStyleSheet(ERROR_STYLE)
            problem.field.setFocus()
            self._show_problem(str(problem))
            return
        if self.client is None:
            self._show_problem("Not connected to a catalog yet.")
            return
        self.status.setText("Searching…")
        self.model.search(filters)

    def clear(self) -> None:
        for field in self.findChildren(QLineEdit):
            field.clear()
            field.setStyleSheet("")
        for combo in (self.instrument, self.detector, self.operator):
            combo.setCurrentText("")
        self.date_from.clear_value()
        self.date_to.clear_value()
        self.search()

    def _fetch(self, generation: int, filters: SearchFilters) -> None:
        client = self.client
        self._jobs.run(
            lambda: client.search(filters.params()),
            lambda page: self._page(generation, page),
            lambda message, _details: self._failed(generation, message),
        )

    def _page(self, generation: int, page: dict) -> None:
        if not self.model.accept(generation, page):
            return  # an older search's answer
        results = self.model.results
        shown, total = len(results.hits), results.total
        more = " (scroll for more)" if shown < total else ""
        self.status.setText(f"{total} file(s) found{more}." if total else "Nothing found.")
        self._update_buttons()
        if page.get("offset", 0) == 0:
            self.searched.emit(total)

    def _failed(self, generation: int, message: str) -> None:
        if self.model.failed(generation, message):
            self._show_problem(message)

    def _show_problem(self, message: str) -> None:
        self.status.setText(message)

    # --- facets -------------------------------------------------------------------------------

    def _show_facets(self, facets: dict) -> None:
        self.facets.show_counts(facets)
        self._fill_combo(self.instrument, facets.get("instruments") or [])
        self._fill_combo(self.detector, facets.get("detectors") or [])
        self._fill_combo(self.operator, facets.get("operators") or [])

    @staticmethod
    def _fill_combo(combo: QComboBox, counts: list[dict]) -> None:
        text = combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        combo.addItems([str(c["value"]) for c in counts])
        combo.setCurrentText(text)
        combo.blockSignals(False)

    def facet_items(self, name: str) -> list[QTreeWidgetItem]:
        return self.facets.items_of(name)

    def _facet_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        """Filter by the clicked value, then search again."""
        facet = item.data(0, FACET_ROLE)
        if facet is None:
            return
        name, value = facet
        if name == "instruments":
            self.instrument.setCurrentText(str(value))
        elif name == "operators":
            self.operator.setCurrentText(str(value))
        elif name == "detectors":
            self.detector.setCurrentText(str(value))
        elif name == "voltages":
            kv = float(value) / 1e3
            self.voltage_low.setText(f"{kv - 0.5:g}")
            self.voltage_high.setText(f"{kv + 0.5:g}")
        elif name == "elements":
            have = self.elements.text().replace(",", " ").split()
            if str(value) not in have:
                self.elements.setText(", ".join([*have, str(value)]))
        self.search()

    # --- acting on a hit ----------------------------------------------------------------------

    def selected_hit(self) -> dict | None:
        """The hit selected in the view shown (the table selects rows, the grid tiles)."""
        view = self.results_views.currentWidget()
        rows = sorted({index.row() for index in view.selectionModel().selectedIndexes()})
        return self.model.hit(rows[0]) if rows else None

    def _emit_selected(self, signal) -> None:
        hit = self.selected_hit()
        if hit is not None:
            signal.emit(hit)

    def open_index(self, index: QModelIndex) -> None:
        hit = index.data(HIT_ROLE)
        if hit is not None:
            self.preview_requested.emit(hit)

    def context_menu(self, view: QAbstractItemView, pos: QPoint) -> QMenu:
        """The actions on the hit under `pos` (selected first), as the buttons below offer."""
        index = view.indexAt(pos)
        if index.isValid():
            view.setCurrentIndex(index)
        menu = QMenu(view)
        for text, signal in self.hit_actions:
            action = menu.addAction(text)
            action.triggered.connect(lambda _=False, s=signal: self._emit_selected(s))
            action.setEnabled(self.selected_hit() is not None)
        return menu

    def hit_buttons(self) -> tuple[QPushButton, ...]:
        return (self.open_button, self.tree_button, self.download_button)

    def _update_buttons(self) -> None:
        chosen = self.selected_hit() is not None
        for button in self.hit_buttons():
            button.setEnabled(chosen)
