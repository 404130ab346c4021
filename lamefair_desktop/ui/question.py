"""A yes/no question before something that cannot be taken back (quitting mid-upload, a cancel):
the safe answer is the default, so Enter never drops work."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def question(
    parent: QWidget, title: str, text: str, detail: str, go: str, stay: str
) -> QMessageBox:
    """The box, not yet shown: `go` accepts, `stay` (the default) rejects."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    box.setInformativeText(detail)
    box.addButton(go, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(box.addButton(stay, QMessageBox.ButtonRole.RejectRole))
    return box
