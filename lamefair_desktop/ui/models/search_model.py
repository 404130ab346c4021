"""The Find panel's results as a Qt table (over catalog/search.SearchResults): one row per hit,
the columns of catalog/search.COLUMNS, more pages fetched as the view scrolls to the end.

Fetching is the panel's business (a Job, off the UI thread): `fetchMore` only asks for it through
`page_wanted`, and the panel hands the answer back to `accept`.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal

from lamefair_desktop.catalog.search import COLUMNS, SearchFilters, SearchResults, row_of
from lamefair_desktop.ui.models.table_model import ROOT, ColumnsTableModel

HIT_ROLE = Qt.ItemDataRole.UserRole + 1  # the hit's dict, as the catalog sent it


class SearchModel(ColumnsTableModel):
    columns = COLUMNS
    page_wanted = Signal(int, object)  # generation, SearchFilters of the page to fetch
    facets_changed = Signal(dict)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.results = SearchResults()

    def search(self, filters: SearchFilters) -> None:
        self.beginResetModel()
        generation, first = self.results.begin(filters)
        self.rows = []
        self.endResetModel()
        self.page_wanted.emit(generation, first)

    def accept(self, generation: int, page: dict) -> bool:
        """A page arrived; False when it answers a search no longer shown (dropped)."""
        before = len(self.results.hits)
        if not self.results.accept(generation, page):
            return False
        after = len(self.results.hits)
        if after > before:
            self.beginInsertRows(ROOT, before, after - 1)
            self.rows = [row_of(hit) for hit in self.results.hits]
            self.endInsertRows()
        if before == 0:
            self.facets_changed.emit(self.results.facets)
        return True

    def failed(self, generation: int, message: str) -> bool:
        return self.results.failed(generation, message)

    def hit(self, row: int) -> dict | None:
        return self.results.hits[row] if 0 <= row < len(self.results.hits) else None

    def canFetchMore(self, parent: QModelIndex = ROOT) -> bool:  # noqa: N802 - Qt's naming
        r = self.results
        return not parent.isValid() and not r.loading and len(r.hits) < r.total

    def fetchMore(self, parent: QModelIndex = ROOT) -> None:  # noqa: N802
        if parent.isValid():
            return
        request = self.results.next_page()
        if request is not None:
            self.page_wanted.emit(*request)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.rows[index.row()][index.column()]
        if role == HIT_ROLE:
            return self.results.hits[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole:
            hit = self.results.hits[index.row()]
            return f"{hit['proposal_number']} / {hit['sample_name']} / {hit['path']}"
        return None
