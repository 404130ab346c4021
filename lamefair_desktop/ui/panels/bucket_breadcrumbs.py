"""The bucket browser's breadcrumbs: "/ › SAMPLE-… › EXP-…", one button per folder of the prefix
shown, on a row of their own that scrolls sideways.

A deep path (SAMPLE-…/EXP-…) beside the bucket box squeezed the buttons until their texts
overlapped, and its width forced the catalog tree beside the tabs down to a sliver: the buttons
keep the width of their text and the row scrolls instead, to its end (the crumb one is in).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QSizePolicy, QToolButton, QWidget


class Breadcrumbs(QScrollArea):
    chosen = Signal(str)  # the prefix of the crumb clicked ("" for the bucket's root)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        crumb_row = QWidget()
        self.row = QHBoxLayout(crumb_row)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(0)
        self.row.addStretch(1)
        self.setWidget(crumb_row)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setFixedHeight(crumb_row.sizeHint().height() + 30)
        bar = self.horizontalScrollBar()
        bar.rangeChanged.connect(lambda _lo, hi: bar.setValue(hi))

    def show_prefix(self, prefix: str) -> None:
        while self.row.count() > 1:  # the last item is the stretch that keeps them left
            widget = self.row.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        parts = [p for p in prefix.split("/") if p]
        targets = [("/", "")] + [
            (part, "/".join(parts[: i + 1]) + "/") for i, part in enumerate(parts)
        ]
        for position, (label, target) in enumerate(targets):
            button = QToolButton()
            button.setText(label if position == 0 else f"› {label}")
            button.setToolTip(target or "/")
            button.setAutoRaise(True)
            button.setObjectName("crumb")
            # Never narrower than its text: the row scrolls instead of squeezing the buttons.
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _c=False, t=target: self.chosen.emit(t))
            self.row.insertWidget(self.row.count() - 1, button)

    def buttons(self) -> list[QToolButton]:
        widgets = (self.row.itemAt(i).widget() for i in range(self.row.count()))
        return [widget for widget in widgets if widget is not None]

    def labels(self) -> list[str]:
        return [button.text().removeprefix("› ") for button in self.buttons()]
