"""The window with a settings file that cannot be used: a message naming the file and the problem,
and no local catalog started in its place (that fallback sent uploads to the wrong catalog)."""

from __future__ import annotations

import argparse

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from lamefair_desktop.cli.exit_codes import EXIT_USAGE
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.ui import app


def test_a_broken_settings_file_stops_the_window_with_a_message(qtbot, lamefair_home):
    broken = b'{"server_url": "https://catalog.lab.example",, "part_concurrency": 4}'
    Settings.path().write_bytes(broken)
    shown: list[str] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, answer)  # not up yet
            return
        shown.append(box.text())
        quit_button = next(b for b in box.buttons() if b.text() == "Quit")
        quit_button.click()

    QTimer.singleShot(0, answer)
    status = app.run(argparse.Namespace())
    assert status == EXIT_USAGE
    assert len(shown) == 1
    assert str(Settings.path()) in shown[0]
    assert "line 1, column 46: expected JSON" in shown[0]
    assert Settings.path().read_bytes() == broken
    # No local catalog: its data folder is made when it starts.
    assert not (lamefair_home / "data" / "catalog").exists()
    assert not any(
        isinstance(w, QMessageBox) for w in QApplication.topLevelWidgets() if w.isVisible()
    )


def test_a_settings_file_broken_mid_session_does_not_stop_an_upload_being_prepared(
    qtbot, lamefair_home, tmp_path
):
    """The window read its settings when it started: files dropped on an experiment afterwards
    still open the upload dialog (the dialog's context re-read the file on a worker and failed
    with a generic worker error)."""
    from lamefair_desktop.catalog.tree import TreeNode
    from lamefair_desktop.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.workspace_ready, timeout=120_000):
        window.show()
    try:
        Settings.path().write_bytes(b'{"server_url": ,}')  # someone edits it by hand, badly
        image = tmp_path / "image.tif"
        image.write_bytes(b"not really a TIFF")
        experiment = TreeNode("experiment", "00000000-0000-0000-0000-000000000001", "run 1")
        with qtbot.waitSignal(window.upload_dialog_opened, timeout=30_000) as opened:
            window.files_dropped(experiment, [image])
        opened.args[0].reject()
    finally:
        window.close()
        window.shutdown()
