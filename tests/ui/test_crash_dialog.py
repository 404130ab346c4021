"""An uncaught exception, on the UI thread or a worker, becomes a log entry and a dialog."""

from __future__ import annotations

import sys
import threading

from lamefair_desktop.ui.dialogs.crash_dialog import CrashReporter, setup_logging


def test_uncaught_exceptions_are_logged_and_shown(qtbot, lamefair_home, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    log_path = setup_logging()
    reporter = CrashReporter(log_path)
    reporter.install()

    def boom() -> None:
        raise RuntimeError("worker exploded")

    with qtbot.waitSignal(reporter.reported, timeout=5_000) as reported:
        thread = threading.Thread(target=boom)
        thread.start()
        thread.join()
    assert "RuntimeError: worker exploded" in reported.args[0]
    qtbot.waitUntil(lambda: reporter.last_dialog is not None, timeout=5_000)
    dialog = reporter.last_dialog
    qtbot.addWidget(dialog)
    assert "worker exploded" in dialog.report
    import logging

    ours = [
        h for h in logging.getLogger().handlers if getattr(h, "baseFilename", "") == str(log_path)
    ]
    for handler in ours:
        handler.flush()
    assert "worker exploded" in log_path.read_text()
    assert log_path.is_relative_to(lamefair_home)
    for handler in ours:
        logging.getLogger().removeHandler(handler)
        handler.close()
