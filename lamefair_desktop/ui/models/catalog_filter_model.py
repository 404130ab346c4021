"""The tree's filter box: name, sample identifier, atom type or date (see catalog_tree.matches)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel

from lamefair_desktop.catalog.tree import matches
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE


class CatalogFilterModel(QSortFilterProxyModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)  # keep the parents of what matches
        self._text = ""

    def set_text(self, text: str) -> None:
        if hasattr(self, "endFilterChange"):  # Qt >= 6.10 deprecates invalidateFilter()
            self.beginFilterChange()
            self._text = text
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._text = text
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802
        if not self._text:
            return True
        index = self.sourceModel().index(row, 0, parent)
        node = index.data(NODE_ROLE)
        return node is not None and matches(node, self._text)
