"""Share link…: a revocable link to a file or a folder, for someone without an account.

The catalog makes the link (catalog/client.create_share) and shows its address once; the dialog
keeps it in a read-only field with Copy. Below, the proposal's links with their state and uses;
Revoke refuses the selected one's next opening at once (unlike a presigned URL, which works until
it expires). Every call runs on the general pool; answers arrive on the UI thread.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lamefair_desktop.ui.look import ProblemLabel
from lamefair_desktop.workers.job import JobGroup

EXPIRIES = [("1 hour", 3600), ("1 day", 86400), ("7 days", 7 * 86400), ("30 days", 30 * 86400)]
COLUMNS = ["Shared", "Note", "Expires", "State", "Uses", "By"]


class ShareDialog(QDialog):
    def __init__(
        self,
        client,
        target: dict,
        label: str,
        proposal_id: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.target = target
        self.proposal_id = proposal_id
        self.links: list[dict] = []
        self._jobs = JobGroup(self._show_problem)
        self.setWindowTitle("Share link")
        heading = QLabel(
            f"<b>{label}</b><br>Anyone with the link can download this without an account, "
            "until it expires or you revoke it."
        )
        heading.setWordWrap(True)
        self.expiry = QComboBox()
        for text, seconds in EXPIRIES:
            self.expiry.addItem(text, seconds)
        self.expiry.setCurrentIndex(2)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Optional: who it is for, why")
        self.create_button = QPushButton("Create link")
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.create_link)
        self.link = QLineEdit()
        self.link.setReadOnly(True)
        self.link.setPlaceholderText("The link appears here")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy)
        link_row = QHBoxLayout()
        link_row.addWidget(self.link, 1)
        link_row.addWidget(self.copy_button)
        self.problem = ProblemLabel()
        self.problem.setWordWrap(True)
        self.problem.hide()
        form = QFormLayout()
        form.addRow("Expires after", self.expiry)
        form.addRow("Note", self.note)
        create_row = QHBoxLayout()
        create_row.addWidget(self.create_button)
        create_row.addStretch(1)
        form.addRow("", create_row)
        form.addRow("Link", link_row)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # a few dozen rows
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the note
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.revoke_button = QPushButton("Revoke")
        self.revoke_button.setEnabled(False)
        self.revoke_button.clicked.connect(self.revoke_selected)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.revoke_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(QLabel("Links of this proposal"))
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(720, 480)
        self.reload()

    def _show_problem(self, message: str) -> None:
        self.problem.setText(message)
        self.problem.setVisible(bool(message))

    def create_link(self) -> None:
        client, target = self.client, self.target
        seconds, note = self.expiry.currentData(), self.note.text().strip()
        self.create_button.setEnabled(False)
        self._show_problem("")

        def failed(message: str, _details: str) -> None:
            self.create_button.setEnabled(True)
            self._show_problem(message)

        self._jobs.run(lambda: client.create_share(target, seconds, note), self._created, failed)

    def _created(self, link: dict) -> None:
        self.create_button.setEnabled(True)
        self.link.setText(link["url"])
        self.copy_button.setEnabled(True)
        self.reload()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.link.text())

    def reload(self) -> None:
        client, proposal = self.client, self.proposal_id
        self._jobs.run(lambda: client.shares(proposal), self.show_links)

    def show_links(self, links: list[dict]) -> None:
        self.links = links
        self.table.setRowCount(len(links))
        for row, link in enumerate(links):
            shared = link["key"].rstrip("/").rsplit("/", 1)[-1] + ("/" if link["is_folder"] else "")
            expires = datetime.fromisoformat(link["expires_at"]).astimezone()
            values = [
                shared,
                link["note"],
                expires.strftime("%Y-%m-%d %H:%M"),
                link["state"],
                str(link["uses"]),
                link["created_by"],
            ]
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(link["key"] if column == 0 else value)
                self.table.setItem(row, column, item)
        self._selection_changed()

    def _selected(self) -> dict | None:
        rows = self.table.selectionModel().selectedRows()
        return self.links[rows[0].row()] if rows else None

    def _selection_changed(self) -> None:
        link = self._selected()
        self.revoke_button.setEnabled(link is not None and link["state"] == "active")

    def revoke_selected(self) -> None:
        link = self._selected()
        if link is None:
            return
        client = self.client
        self._jobs.run(lambda: client.revoke_share(link["id"]), lambda _out: self.reload())
