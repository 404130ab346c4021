"""The form set-up the dialogs share: a form whose fields take the width, and a path field with a
Browse… button beside it (the Settings and Export dialogs both ask for paths)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLineEdit, QPushButton


def form_layout() -> QFormLayout:
    """Fields as wide as the dialog (a path or a URL fits), rows a little apart."""
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setVerticalSpacing(8)
    return form


def browse_row(
    field: QLineEdit, choose: Callable[[], str | None]
) -> tuple[QHBoxLayout, QPushButton]:
    """The field and a Browse… button that fills it with what `choose()` returns (nothing when
    the person cancels the file dialog); the button, so a dialog can disable it while it works."""
    button = QPushButton("Browse…")
    button.clicked.connect(lambda: (picked := choose()) and field.setText(picked))
    row = QHBoxLayout()
    row.addWidget(field, 1)
    row.addWidget(button)
    return row, button
