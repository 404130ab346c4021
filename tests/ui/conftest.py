"""The window on the real local stack, as an operator first sees it: shown, its workspace open
(embedded catalog + SeaweedFS started) and the catalog tree synced once."""

from __future__ import annotations

import pytest

from lamefair_desktop.ui.main_window import MainWindow

# Starting the embedded stack and the engines' process takes a while on a loaded 2-core machine.
WORKSPACE_TIMEOUT_MS = 120_000


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignals(
        [window.workspace_ready, window.catalog_synced], timeout=WORKSPACE_TIMEOUT_MS
    ):
        pass
    yield window
    window.close()
    window.shutdown()
