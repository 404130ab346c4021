"""Where Fiji and napari are, in the Settings dialog: each with a Browse… button, checked before
saving (a path that is not a program says so and keeps the dialog open), and used by the
preview's "Open in Fiji/napari" once saved."""

from __future__ import annotations

import stat
from pathlib import Path

from PySide6.QtWidgets import QDialogButtonBox, QPushButton, QWidget

from lamefair_desktop.home.settings import Settings
from lamefair_desktop.ui.dialogs.settings_dialog import SettingsDialog
from lamefair_desktop.ui.panels.external_viewers import ExternalViewers

PAIRS = [("generic", "Generic"), ("fei-helios", "FEI Helios")]


def _program(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _dialog(qtbot) -> SettingsDialog:
    dialog = SettingsDialog(Settings.load(), pairs=PAIRS)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _save(dialog: SettingsDialog) -> None:
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()


def _browse_buttons(dialog: SettingsDialog) -> dict[str, QPushButton]:
    """The Browse… button on each labelled row of the form."""
    form = dialog.layout().itemAt(0).layout()
    buttons = {}
    for row in range(form.rowCount()):
        label = form.labelForField(form.itemAt(row, form.ItemRole.FieldRole).layout())
        field = form.itemAt(row, form.ItemRole.FieldRole)
        if label is not None and field.layout() is not None:
            button = field.layout().itemAt(1).widget()
            buttons[label.text()] = button
    return buttons


def test_fiji_and_napari_chosen_in_settings_open_from_the_preview(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # neither on PATH
    fiji_app = tmp_path / "Fiji.app"
    _program(fiji_app / "ImageJ-linux64")
    napari = _program(tmp_path / "envs" / "napari" / "bin" / "napari")
    dialog = _dialog(qtbot)
    dialog.ask_fiji = lambda: str(fiji_app)  # the file dialogs are modal
    dialog.ask_napari = lambda: str(napari)
    buttons = _browse_buttons(dialog)
    assert {"Fiji", "napari"} <= set(buttons)
    assert all(buttons[name].text() == "Browse…" for name in ("Fiji", "napari"))
    buttons["Fiji"].click()
    buttons["napari"].click()
    assert (dialog.fiji.text(), dialog.napari.text()) == (str(fiji_app), str(napari))
    with qtbot.waitSignal(dialog.accepted):
        _save(dialog)
    dialog.settings().save()
    saved = Settings.load()
    assert (saved.fiji_path, saved.napari_path) == (str(fiji_app), str(napari))
    assert dialog.error.text() == ""

    # The preview's buttons find both (waiting only for an image to open).
    holder = QWidget()
    qtbot.addWidget(holder)
    viewers = ExternalViewers(holder)
    with qtbot.waitSignal(viewers.found, timeout=30_000):
        viewers.refresh()
    assert viewers.buttons["Fiji"].toolTip() == "Open an image first; it opens in Fiji"
    assert viewers.buttons["napari"].toolTip() == "Open an image first; it opens in napari"
    assert viewers.viewers["Fiji"].executable == str(fiji_app / "ImageJ-linux64")

    reopened = _dialog(qtbot)  # the saved paths are shown again
    assert (reopened.fiji.text(), reopened.napari.text()) == (str(fiji_app), str(napari))


def test_a_path_that_is_not_a_program_is_refused_with_a_message(qtbot, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a program")
    dialog = _dialog(qtbot)
    dialog.fiji.setText(str(notes))
    _save(dialog)
    assert dialog.isVisible()  # not saved: the dialog stays, the value kept
    assert f"Fiji: {notes} is not a program" in dialog.error.text()
    assert "Fiji.app folder" in dialog.error.text()
    assert dialog.settings() is None

    dialog.fiji.setText(str(tmp_path))  # a folder without a Fiji launcher
    _save(dialog)
    assert f"Fiji: {tmp_path} is not a program" in dialog.error.text()

    dialog.fiji.clear()  # empty: Fiji from PATH, accepted
    dialog.napari.setText(str(tmp_path / "missing" / "napari"))
    _save(dialog)
    assert dialog.isVisible()
    missing = tmp_path / "missing" / "napari"
    assert f"napari: {missing} is not a program" in dialog.error.text()
    assert dialog.napari.text() == str(tmp_path / "missing" / "napari")

    dialog.napari.clear()
    with qtbot.waitSignal(dialog.accepted):
        _save(dialog)
    assert (dialog.settings().fiji_path, dialog.settings().napari_path) == (None, None)
