"""Closing the main window: ask first while files upload, save the layout, stop the engines at a
clean point, then close the workspace (and the local catalog it may have started).

A part of MainWindow (ui/main_window.py).
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox

from lamefair_desktop.ui.question import question
from lamefair_desktop.ui.window.remembered import save_layout
from lamefair_desktop.workers.pools import all_pools

log = logging.getLogger(__name__)


class WindowClosing:
    def quit_question(self) -> QMessageBox | None:
        """The question asked before quitting while files upload (None: nothing uploads)."""
        active = self.transfers.model.active()
        if not active:
            return None
        return question(
            self,
            "Quit lamefair?",
            f"{active} file(s) are still queued or uploading.",
            "They stay in the queue on this computer and resume where they were the next time "
            "lamefair starts; the parts already sent are kept.",
            "Quit",
            "Keep running",
        )

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        box = self.quit_question()
        if box is not None:
            box.exec()
            if box.buttonRole(box.clickedButton()) != QMessageBox.ButtonRole.AcceptRole:
                event.ignore()
                return
        try:
            save_layout(self)
        except Exception:  # noqa: BLE001 - the layout is a convenience, never a reason to stay
            log.exception("could not save the window's layout")
        self.preview.close_file()
        if self.engines is not None:
            self.engines.request_stop()  # parts in flight finish; the queues keep the rest
        super().closeEvent(event)

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """After the event loop: let the engines reach a clean point, then disconnect (and stop
        the local catalog if we started it). Whatever is unfinished stays queued."""
        if self.engines is not None:
            self.engines.stop(wait_ms / 1000)
        for pool in all_pools():
            pool.waitForDone(wait_ms)
        for workspace in {id(w): w for w in [self.workspace, *self._opened] if w}.values():
            workspace.close()
        self.workspace = None
        self._opened.clear()
