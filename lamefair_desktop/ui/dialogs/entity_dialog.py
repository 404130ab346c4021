"""Create and edit dialogs for projects, proposals, samples and experiments.

One form class driven by a field list per kind (the lab's forms). Our own checks run as you type;
what the catalog refuses (409 duplicate, 422 invalid) is shown under the field it concerns. Saving
runs on a worker; offline, samples and experiments go to the outbox and show as pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lamefair_catalog.shared import validate_atom_types
from lamefair_desktop.catalog.client import CatalogError, CatalogUnreachable
from lamefair_desktop.catalog.sync import Node, Sync
from lamefair_desktop.ui.date_field import DateField, DateTimeField
from lamefair_desktop.ui.look import ProblemLabel
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import general_pool


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text, long, date, datetime, list, atoms, bool
    required: bool = False
    create_only: bool = False  # part of the identity (bucket names derive from it)
    hint: str = ""  # a placeholder in the empty field
    tip: str = ""  # a tooltip, for what a placeholder is too short to say


FORMS: dict[str, tuple[Field, ...]] = {
    "project": (
        Field("name", "Name", required=True),
        Field("description", "Description", "long"),
    ),
    "proposal": (
        Field("number", "Proposal number", required=True, create_only=True, hint="e.g. 2026-0042"),
        Field("pi_name", "Principal investigator"),
        Field("date", "Date", "date"),
        Field("title", "Title"),
        Field("description", "Description", "long"),
        Field("members", "Members", "list", hint="user names, separated by commas"),
    ),
    "sample": (
        Field("name", "Name", required=True),
        Field("identifier", "Identifier", hint="the lab's sample id"),
        Field("preparation_date", "Preparation date", "date"),
        # NeXus calls them atom_types; people say elements (the symbols, not compounds).
        Field(
            "atom_types",
            "Elements",
            "atoms",
            hint="chemical symbols, e.g. Fe, O",
            tip="The chemical elements in the sample, as symbols separated by commas (Fe, O "
            "for magnetite). They go to NXem's sample/atom_types; the FAIRmat validator wants "
            "them.",
        ),
        Field("physical_form", "Physical form", hint="powder, thin film, lamella…"),
        Field("is_simulation", "Simulated sample", "bool"),
        Field("description", "Description", "long"),
    ),
    "experiment": (
        Field("name", "Name", required=True),
        Field("description", "Description", "long"),
        Field("start_time", "Start time", "datetime", tip="This computer's local time"),
        Field("end_time", "End time", "datetime", tip="This computer's local time"),
    ),
}
PARENT_FIELD = {"proposal": "project", "sample": "proposal", "experiment": "sample"}
TITLES = {
    "project": "project",
    "proposal": "proposal",
    "sample": "sample",
    "experiment": "experiment",
}


class FieldError(ValueError):
    pass


def parse(field: Field, text: str):
    """Text of a widget → the API's value; FieldError with a message for people."""
    text = text.strip()
    if not text:
        if field.required:
            raise FieldError(f"{field.label} is required.")
        if field.kind in ("list", "atoms"):
            return []
        return "" if field.kind in ("text", "long") else None
    if field.kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise FieldError("Write the date as YYYY-MM-DD, e.g. 2026-11-24.") from None
    if field.kind == "datetime":
        try:
            moment = datetime.fromisoformat(text.replace(" ", "T"))
        except ValueError:
            raise FieldError("Write the time as YYYY-MM-DD HH:MM, e.g. 2026-11-24 09:30.") from None
        if moment.tzinfo is None:
            moment = moment.astimezone()  # the operator's wall clock
        return moment.isoformat()
    if field.kind in ("list", "atoms"):
        items = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
        if field.kind == "atoms":
            try:
                return validate_atom_types(items)
            except ValueError as exc:
                raise FieldError(str(exc)) from None
        return items
    return text


def show(field: Field, value) -> str:
    """The API's value → text for a widget."""
    if value in (None, ""):
        return ""
    if field.kind in ("list", "atoms"):
        return ", ".join(value)
    if field.kind == "datetime":
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone()
        except ValueError:
            return str(value)
        return moment.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _with_clear(editor: DateField | DateTimeField) -> QWidget:
    """A date field and a button that empties it (the dates are optional)."""
    clear = QToolButton()
    clear.setText("Clear")
    clear.setToolTip("Leave the date not set")
    clear.clicked.connect(editor.clear_value)
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(editor, 1)
    layout.addWidget(clear)
    return row


class EntityDialog(QDialog):
    """`EntityDialog(sync, "sample", parent_id=...)` creates; `node=...` edits."""

    saved = Signal(object)  # Node

    def __init__(
        self,
        sync: Sync,
        kind: str,
        *,
        parent_id: str | None = None,
        node: Node | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.sync, self.kind, self.parent_id, self.node = sync, kind, parent_id, node
        self.fields = FORMS[kind]
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self._job: Job | None = None
        verb = "Edit" if node else "New"
        self.setWindowTitle(f"{verb} {TITLES[kind]}")
        form = QFormLayout()
        for field in self.fields:
            editor = self._editor(field)
            self.editors[field.name] = editor
            error = ProblemLabel()
            error.setObjectName(f"error_{field.name}")
            error.setMargin(3)  # not CSS padding: QLabel's height for width leaves that out
            error.setWordWrap(True)
            error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            error.hide()
            self.errors[field.name] = error
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(_with_clear(editor) if field.kind in ("date", "datetime") else editor)
            column.addWidget(error)
            holder = QWidget()
            holder.setLayout(column)
            column.setContentsMargins(0, 0, 0, 0)
            label = f"{field.label} *" if field.required else field.label
            form.addRow(label, holder)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        if node is not None:
            for field in self.fields:
                self.set_text(field.name, show(field, node.data.get(field.name)))
        self.setMinimumWidth(460)

    # --- widgets ------------------------------------------------------------------------------

    def _editor(self, field: Field) -> QWidget:
        if field.kind == "bool":
            editor = QCheckBox()
            editor.toggled.connect(lambda _on, f=field: self._check(f))
        elif field.kind in ("date", "datetime"):
            editor = DateField() if field.kind == "date" else DateTimeField()
            editor.dateTimeChanged.connect(lambda _d, f=field: self._check(f))
        elif field.kind == "long":
            editor = QPlainTextEdit()
            editor.setFixedHeight(70)
            editor.setTabChangesFocus(True)
        else:
            editor = QLineEdit()
            editor.setPlaceholderText(field.hint)
            editor.textChanged.connect(lambda _t, f=field: self._check(f))
            if field.create_only and self.node is not None:
                editor.setReadOnly(True)
                editor.setToolTip(f"The {field.label.lower()} names the buckets; it cannot change.")
        if field.tip:
            editor.setToolTip(field.tip)
        editor.setObjectName(field.name)
        return editor

    def text(self, name: str) -> str:
        editor = self.editors[name]
        if isinstance(editor, QCheckBox):
            return "true" if editor.isChecked() else ""
        if isinstance(editor, QPlainTextEdit):
            return editor.toPlainText()
        if isinstance(editor, DateField | DateTimeField):
            return editor.value_text()
        return editor.text()

    def set_text(self, name: str, value: str) -> None:
        editor = self.editors[name]
        if isinstance(editor, QCheckBox):
            editor.setChecked(value.lower() in ("true", "1", "yes"))
        elif isinstance(editor, QPlainTextEdit):
            editor.setPlainText(value)
        elif isinstance(editor, DateField | DateTimeField):
            editor.set_text(value)
        else:
            editor.setText(value)

    def error_text(self, name: str) -> str:
        label = self.errors[name]
        return label.text() if not label.isHidden() else ""

    def _show_error(self, name: str, text: str) -> None:
        label = self.errors.get(name)
        if label is None:  # the server named a field this form has no widget for
            self.message.setText(text)
            self.message.show()
            self._fit()
            return
        label.setText(text)
        label.setVisible(bool(text))
        self._fit()

    def _fit(self) -> None:
        """Grow the dialog to show every message whole. A shown dialog keeps its height when a
        word-wrapped label appears, and the layout gives the label one line: a server's 409
        was cut at the top and the bottom. Not before it is shown: showing sizes it whole, and
        a resize here would fix a height too small for the rest of the form."""
        if not self.isVisible():
            return
        self.layout().activate()  # labels just shown get their width first
        for label in (*self.errors.values(), self.message):
            if label.isVisible() and label.width() > 0:
                label.setMinimumHeight(label.heightForWidth(label.width()))
            else:
                label.setMinimumHeight(0)
        self.layout().activate()
        needed = self.layout().totalMinimumSize().height()
        if self.height() < needed:
            self.resize(self.width(), needed)

    def _check(self, field: Field) -> bool:
        try:
            parse(field, self.text(field.name)) if field.kind != "bool" else None
        except FieldError as exc:
            self._show_error(field.name, str(exc))
            return False
        self._show_error(field.name, "")
        return True

    # --- saving -------------------------------------------------------------------------------

    def body(self) -> dict | None:
        """The request body, or None when a field is not valid (its message is shown)."""
        body, ok = {}, True
        for field in self.fields:
            if field.create_only and self.node is not None:
                continue
            if field.kind == "bool":
                body[field.name] = self.editors[field.name].isChecked()
                continue
            try:
                body[field.name] = parse(field, self.text(field.name))
            except FieldError as exc:
                self._show_error(field.name, str(exc))
                ok = False
        if not ok:
            return None
        if self.node is None and self.kind in PARENT_FIELD:
            body[PARENT_FIELD[self.kind]] = self.parent_id
        return body

    def submit(self) -> None:
        body = self.body()
        if body is None or self._job is not None:
            return
        self.message.hide()
        self.buttons.setEnabled(False)
        sync, kind, node = self.sync, self.kind, self.node

        def work(report, cancel) -> Node | CatalogError:
            try:
                if node is None:
                    return sync.create(kind, body)
                return sync.update(kind, node.id, body)
            except CatalogError as exc:  # shown in the form, not as a failure
                return exc

        job = Job(work)
        job.signals.finished.connect(self._done)
        job.signals.failed.connect(lambda message, _d: self._done(CatalogError(message)))
        self._job = job
        job.start_on(general_pool())

    def _done(self, result: Node | CatalogError) -> None:
        self._job = None
        self.buttons.setEnabled(True)
        if isinstance(result, Node):
            self.saved.emit(result)
            self.accept()
            return
        self._show_server_error(result)

    def _show_server_error(self, error: CatalogError) -> None:
        if isinstance(error, CatalogUnreachable):
            self.message.setText(
                f"{error} Projects and proposals need the catalog (bucket names are made "
                "there); samples and experiments can be created offline."
            )
            self.message.show()
            self._fit()
            return
        listed = error.body.get("errors") if isinstance(error.body, dict) else None
        if error.field:
            self._show_error(error.field, error.detail)
        elif listed:
            for item in listed:
                self._show_error(str(item.get("field", "")).split(".")[0], item.get("message", ""))
        else:
            self.message.setText(error.detail)
            self.message.show()
            self._fit()
        focus = next((n for n, label in self.errors.items() if not label.isHidden()), None)
        if focus:
            self.editors[focus].setFocus(Qt.FocusReason.OtherFocusReason)
