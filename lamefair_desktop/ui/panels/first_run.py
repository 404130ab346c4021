"""What the tree area shows while the catalog holds no project: what to do first.

Shown instead of an empty tree (a blank pane said nothing to a new user): create a project here,
or point lamefair at the lab's catalog in Settings. The window decides when (ui/main_window.py).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

LOCAL = (
    "<b>No project yet.</b><p>This is the catalog on this computer. Start with a project, then "
    "add a proposal, a sample and an experiment to it, and drop image files on the experiment."
    "</p><p>Working in a lab with a shared catalog? Enter its address in Settings "
    "(<i>Catalog server URL</i>) and restart lamefair.</p>"
)
REMOTE = (
    "<b>No project yet.</b><p>The catalog at {server} holds no project you can see. Create one, "
    "then add a proposal, a sample and an experiment, and drop image files on the experiment."
    "</p><p>Expected your lab's projects here? Check the address in Settings (<i>Catalog server "
    "URL</i>) and that you are signed in (Account &gt; Sign in).</p>"
)


class FirstRun(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.new_project = QPushButton("New project…")
        self.settings = QPushButton("Settings…")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(self.text)
        layout.addWidget(self.new_project)
        layout.addWidget(self.settings)
        layout.addStretch(1)

    def say(self, local: bool, server: str) -> None:
        self.text.setText(LOCAL if local else REMOTE.format(server=html.escape(server)))
