"""The preview's metadata pane: the acquisition summary first, then the raw tags (with the vendor's
labels and units) or the NeXus tree (values with their @units), searchable.

A third, hidden column holds each row's raw key (or the summary's source), so a search for
`Beam.HV` or `ap_wd` still finds rows shown by their label. Keys are elided in the middle (the
end of a dotted key says what it is) and every cell has its full text as a tooltip.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, QSortFilterProxyModel, Qt
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QHeaderView, QLineEdit, QTreeView, QVBoxLayout, QWidget

from lamefair_desktop.nexus.acquisition_summary import Fact
from lamefair_desktop.nexus.tag_labels import labelled_tags

ACQUISITION = "Acquisition"
CELL_PADDING = 12  # px a tree cell keeps around its text (the style's margins)
KEY_SHARE = 0.45  # of the pane's width for the key column, until the operator drags it


class MetadataPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QStandardItemModel(0, 3)
        self.model.setHorizontalHeaderLabels(["key", "value", "raw key"])
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setFilterKeyColumn(-1)  # every column, the hidden raw key included
        self.view = QTreeView()
        self.view.setModel(self.proxy)
        self.view.setUniformRowHeights(True)
        self.view.setIndentation(14)  # not the style's 20: the keys keep that width
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.view.setColumnHidden(2, True)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.sectionResized.connect(self._resized_by_hand)
        self._key_width_set_by_hand = False
        self._sizing = False
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search metadata…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)

    def fill(self, facts: tuple[Fact, ...], metadata: dict[str, Any], kind: str) -> None:
        self.model.removeRows(0, self.model.rowCount())
        root = self.model.invisibleRootItem()
        if facts:
            group = _item(ACQUISITION)
            font = QFont(group.font())
            font.setBold(True)
            group.setFont(font)
            root.appendRow([group, _item(""), _item("")])
            for fact in facts:
                group.appendRow([_item(fact.label), _item(fact.text), _item(fact.source)])
                group.child(group.rowCount() - 1, 0).setToolTip(f"{fact.label}: from {fact.source}")
        if kind == "tiff":
            for row in labelled_tags(metadata):
                key = _item(row.label)
                key.setToolTip(row.key if row.key == row.label else f"{row.label}\n{row.key}")
                root.appendRow([key, _item(row.value), _item(row.key)])
        else:
            _add_tree(root, metadata, "")
        self.view.expandToDepth(1 if kind == "nexus" else 0)
        self.updateGeometry()  # a new minimum width: the summary's (the splitter asks again)
        self._size_key_column()

    def acquisition_rows(self) -> dict[str, str]:
        """Label -> text of the summary, as shown (for tests and the screenshot script)."""
        found = self.model.findItems(ACQUISITION)
        if not found:
            return {}
        group = found[0]
        return {group.child(r, 0).text(): group.child(r, 1).text() for r in range(group.rowCount())}

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        if text:
            self.view.expandAll()

    # --- column widths ------------------------------------------------------------------------

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        super().resizeEvent(event)
        self._size_key_column()

    def _size_key_column(self) -> None:
        """Keys take a share of the width and values the rest, so that values never start past
        the pane's edge on a small screen (a fixed key width did at 1024 × 700)."""
        if self._key_width_set_by_hand:
            return
        width = self.view.viewport().width()
        # A share of the width, at least the summary's labels whole (they are short), and never
        # so much that the summary's values are cut: they matter more than the raw tags' keys.
        wanted = max(int(width * KEY_SHARE), self._summary_label_width())
        room = width - self._summary_value_width() - CELL_PADDING
        self._sizing = True
        self.view.setColumnWidth(0, max(80, min(wanted, room, int(width * 0.55))))
        self._sizing = False

    def minimumSizeHint(self):  # noqa: N802 - Qt's naming
        """Wide enough for the acquisition summary's values whole, next to keys of at least
        20 characters (at 1024 × 700 the preview's splitter left 290 px and cut both); longer
        keys and the raw tags may be elided (their tooltips say them whole)."""
        hint = super().minimumSizeHint()
        frame = self.view.verticalScrollBar().sizeHint().width() + 4 * self.view.frameWidth()
        keys = min(self._summary_label_width(), self.view.fontMetrics().averageCharWidth() * 20)
        wanted = keys + self._summary_value_width() + CELL_PADDING + frame
        return hint.expandedTo(QSize(wanted, hint.height()))

    def _summary_value_width(self) -> int:
        """The summary's longest value (a time with its offset), up to 22 em."""
        metrics = self.view.fontMetrics()
        values = [metrics.horizontalAdvance(v) for v in self.acquisition_rows().values()]
        return min(max(values, default=0), metrics.horizontalAdvance("M") * 22)

    def _summary_label_width(self) -> int:
        found = self.model.findItems(ACQUISITION)
        if not found:
            return 0
        group, metrics = found[0], self.view.fontMetrics()
        labels = [group.child(r, 0).text() for r in range(group.rowCount())]
        indent = 2 * self.view.indentation() + 12
        return indent + max((metrics.horizontalAdvance(t) for t in labels), default=0)

    def _resized_by_hand(self, index: int, _old: int, _new: int) -> None:
        if index == 0 and not self._sizing:
            self._key_width_set_by_hand = True


def _item(value: Any) -> QStandardItem:
    text = value if isinstance(value, str) else str(value)
    item = QStandardItem(text)
    item.setEditable(False)
    if len(text) > 30:
        item.setToolTip(text)
    return item


def _with_units(value: Any, units: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return f"{text} {units}" if units not in (None, "") else text


def _add_tree(parent: QStandardItem, tree: dict[str, Any], path: str) -> None:
    for key, value in tree.items():
        where = f"{path}/{key}" if not key.startswith("@") else f"{path}{key}"
        name = _item(key)
        name.setToolTip(where)
        if isinstance(value, dict) and "value" not in value:
            parent.appendRow([name, _item(value.get("@NX_class", "")), _item(where)])
            _add_tree(name, value, where)
        elif isinstance(value, dict):
            shown = _with_units(value["value"], value.get("@units"))
            parent.appendRow([name, _item(shown), _item(where)])
            for attr, attr_value in value.items():
                if attr.startswith("@"):
                    name.appendRow([_item(attr), _item(attr_value), _item(f"{where}{attr}")])
        else:
            parent.appendRow([name, _item(value), _item(where)])
