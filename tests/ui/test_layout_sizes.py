"""The real main window on a small laptop screen (1024 × 700) and a 4K one (3840 × 2160): nothing
cut, nothing squeezed to a sliver, nothing blown up; and the splitters and columns the user set
come back after a restart."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QAbstractButton, QToolBar

from lamefair_desktop.ui.main_window import MainWindow
from lamefair_desktop.ui.panels.metadata_pane import ACQUISITION

ZEISS = "test_tiff_Zeiss_SEM_512pix.tif"
CELL_MARGIN = 8  # px the style keeps around a cell's text


@pytest.fixture
def window(qtbot):
    """Only the layout matters here: the window without a workspace (no stack started)."""
    window = MainWindow(open_workspace=None)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


def _at(qtbot, window, width: int, height: int) -> None:
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.size().toTuple() == (width, height))
    qtbot.wait(50)  # the splitters follow in the same pass; let pending layouts settle


def _preview(qtbot, window, path) -> None:
    with qtbot.waitSignal(window.preview.loaded, timeout=30_000):
        window.open_preview(str(path))
    qtbot.wait(50)


def _cut_buttons(widget) -> list[str]:
    """Visible buttons narrower than their text (a squeezed layout cuts their labels)."""
    return [
        button.text()
        for button in widget.findChildren(QAbstractButton)
        if button.isVisible() and button.text() and button.width() < button.sizeHint().width()
    ]


def test_nothing_is_cut_at_1024_by_700(qtbot, window, corpus_tiff_dir):
    _preview(qtbot, window, corpus_tiff_dir / ZEISS)
    _at(qtbot, window, 1024, 700)
    # The window fits the screen: no widget's minimum pushed it wider or taller.
    assert window.minimumSizeHint().width() <= 1024
    assert window.minimumSizeHint().height() <= 700

    # The catalog tree keeps a usable size.
    assert window.catalog_view.width() >= 200, window.catalog_view.width()
    assert window.catalog_view.height() >= 200, window.catalog_view.height()

    # Every toolbar action is on the toolbar, not behind its » overflow button.
    toolbar = window.findChild(QToolBar, "main-toolbar")
    for action in toolbar.actions():
        button = toolbar.widgetForAction(action)
        assert button.isVisible(), action.text()
        assert toolbar.rect().contains(button.geometry()), action.text()

    # The acquisition summary's values are whole (they fell off the edge).
    pane = window.preview.metadata
    view, model = pane.view, pane.proxy
    metrics = view.fontMetrics()
    group = model.index(0, 0)
    assert group.data() == ACQUISITION
    assert model.rowCount(group) >= 5
    for row in range(model.rowCount(group)):
        value = model.index(row, 1, group)
        rect = view.visualRect(value)
        assert rect.right() <= view.viewport().width(), value.data()
        wanted = metrics.horizontalAdvance(value.data()) + CELL_MARGIN
        assert rect.width() >= wanted, (model.index(row, 0, group).data(), value.data())

    # The tabs' buttons show their labels whole.
    for tab in (window.transfers, window.watch, window.buckets, window.preview):
        window.tabs.setCurrentWidget(tab)
        qtbot.wait(20)
        assert _cut_buttons(tab) == [], type(tab).__name__


def test_a_4k_window_gives_the_room_to_the_image_not_to_the_tree(qtbot, window, corpus_tiff_dir):
    _preview(qtbot, window, corpus_tiff_dir / ZEISS)
    _at(qtbot, window, 3840, 2160)
    tree = window.catalog_view.width()
    assert 200 <= tree <= 500, tree  # a list of names, not a quarter of the screen
    image, metadata = window.preview.splitter.sizes()
    assert image >= 0.5 * window.width(), (image, metadata)
    assert metadata >= window.preview.metadata.minimumSizeHint().width()
    assert window.details.height() >= 300  # the details below the tree grew too
    toolbar = window.findChild(QToolBar, "main-toolbar")
    assert toolbar.iconSize().width() >= 16
    # Back on a small screen, the same window shrinks to it (a splitter set at 4K must not
    # keep the tree at 4K proportions).
    _at(qtbot, window, 1024, 700)
    assert 200 <= window.catalog_view.width() <= 300


def test_splitters_and_column_widths_come_back_after_a_restart(qtbot):
    first = MainWindow(open_workspace=None)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    _at(qtbot, first, 780, 560)  # inside the offscreen screen: restoreGeometry keeps it there
    first.splitter.setSizes([330, 440])
    first.catalog_split.setSizes([200, 240])
    first.preview.splitter.setSizes([240, 190])
    first.watch.splitter.setSizes([200, 400])
    tables = lambda w: (w.transfers.table, w.buckets.table, w.watch.table)  # noqa: E731
    for table in tables(first):
        for column in range(1, table.model().columnCount()):
            table.setColumnWidth(column, 60 + 10 * column)
    qtbot.wait(20)
    remembered = {
        "main": first.splitter.sizes(),
        "catalog": first.catalog_split.sizes(),
        "preview": first.preview.splitter.sizes(),
        "watch": first.watch.splitter.sizes(),
        "columns": [
            [t.columnWidth(c) for c in range(1, t.model().columnCount())] for t in tables(first)
        ],
    }
    first.close()

    again = MainWindow(open_workspace=None)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    qtbot.wait(20)
    assert {
        "main": again.splitter.sizes(),
        "catalog": again.catalog_split.sizes(),
        "preview": again.preview.splitter.sizes(),
        "watch": again.watch.splitter.sizes(),
        "columns": [
            [t.columnWidth(c) for c in range(1, t.model().columnCount())] for t in tables(again)
        ],
    } == remembered
    again.close()
