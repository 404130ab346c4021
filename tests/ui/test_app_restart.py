"""Quit the app mid-upload and start it again: the local catalog comes back on another port, and
the upload still completes (the queue is filed under the catalog's id, not its address)."""

from __future__ import annotations

import hashlib
import os

import httpx
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from lamefair_desktop.ui.main_window import MainWindow

MiB = 1024 * 1024
LONG = 120_000


def _open(qtbot) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.workspace_ready, timeout=LONG):
        pass
    return window


def _quit(window: MainWindow, asked: list[str] | None = None) -> None:
    """Close the window, answering "Quit" if it asks (files still uploading)."""

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        if asked is not None:
            asked.append(f"{box.text()} {box.informativeText()}")
        next(b for b in box.buttons() if b.text() == "Quit").click()

    if window.quit_question() is not None:
        QTimer.singleShot(0, answer)
    window.close()
    window.shutdown()  # stops the local catalog this window started


def test_an_upload_cut_by_quitting_completes_after_the_restart(qtbot, tmp_path):
    first = _open(qtbot)
    workspace = first.workspace
    client = workspace.client
    project = client.create("projects", {"name": "Restart"})
    proposal = client.create("proposals", {"project": project["id"], "number": "7"})
    sample = client.create("samples", {"proposal": proposal["id"], "name": "s"})
    experiment = client.create("experiments", {"sample": sample["id"], "name": "e"})
    big = tmp_path / "big.raw"
    big.write_bytes(os.urandom(96 * MiB))  # multipart: 12 parts
    measurement = workspace.uploader.register(experiment["id"], [big])
    (file_id,) = [f["id"] for f in measurement["files"]]
    first.engines.kick()
    qtbot.waitUntil(
        lambda: any(r.state == "uploading" and r.done > 0 for r in first.transfers.model.rows),
        timeout=LONG,
    )
    old_url = workspace.server_url
    asked: list[str] = []
    _quit(first, asked)
    assert "1 file(s) are still queued or uploading" in asked[0]  # it quit without a word
    assert "resume where they were the next time lamefair starts" in asked[0]
    assert workspace.uploads.get(file_id).state != "stored"  # really cut short

    second = _open(qtbot)
    try:
        assert second.workspace.server_url != old_url
        qtbot.waitUntil(
            lambda: [r.state for r in second.transfers.model.rows] == ["stored"], timeout=LONG
        )
        client = second.workspace.client
        assert client.get_file(file_id)["state"] == "stored"
        link = client.download_url(file_id)["url"]
        digest = hashlib.sha256(httpx.get(link, timeout=60).content).hexdigest()
        assert digest == hashlib.sha256(big.read_bytes()).hexdigest()
    finally:
        _quit(second)
