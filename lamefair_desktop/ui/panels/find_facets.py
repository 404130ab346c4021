"""The Find panel's facet counts: a tree of the facets (instruments, detectors, voltages,
elements, operators) with the number of files of each value; a click on a value filters by it
(the panel does the filtering, through the `FACET_ROLE` of the clicked item)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem

from lamefair_desktop.catalog.search import facet_label

FACETS = (
    ("instruments", "Instrument"),
    ("detectors", "Detector"),
    ("voltages", "Voltage"),
    ("elements", "Element"),
    ("operators", "Operator"),
)
FACET_ROLE = Qt.ItemDataRole.UserRole + 2  # (facet name, value) of a facet's row


class FacetTree(QTreeWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["Facet", "Files"])
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setStretchLastSection(False)

    def show_counts(self, facets: dict) -> None:
        self.clear()
        for name, title in FACETS:
            group = QTreeWidgetItem([f"{title}s", ""])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.addTopLevelItem(group)
            for count in facets.get(name) or []:
                item = QTreeWidgetItem([facet_label(name, count["value"]), str(count["count"])])
                item.setData(0, FACET_ROLE, (name, count["value"]))
                item.setToolTip(0, f"{item.text(0)}: click to show only these")
                item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
                group.addChild(item)
            group.setExpanded(True)

    def items_of(self, name: str) -> list[QTreeWidgetItem]:
        """The value rows of one facet ("instruments"...)."""
        groups = [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        for group in groups:
            if group.child(0) is not None and group.child(0).data(0, FACET_ROLE)[0] == name:
                return [group.child(i) for i in range(group.childCount())]
        return []
