"""The user's session that tests/ui/test_real_x_flow.py runs on its own Xvfb (a real X server,
Qt's xcb platform): not collected by the suite itself (no test_ prefix), run as
`pytest tests/ui/x_session.py` with DISPLAY and QT_QPA_PLATFORM=xcb set.

The real window on the embedded local stack, driven with mouse clicks and typed keys: the
hierarchy through the toolbar and its dialogs, a synthetic FEI TIFF picked in Qt's file dialog,
"valid NXem", the mirror bucket, the preview with a profile drawn by dragging the line's end, the
README shown as text (read on a worker), the NXem downloaded, the measurement exported for
publication from the tree's context menu (the .eln checked: every file in its RO-Crate metadata
with the SHA-256 of its bytes), and a screenshot of the X screen at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import QModelIndex, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialogButtonBox,
    QFileDialog,
    QLineEdit,
    QMenu,
    QToolBar,
)

from lamefair_desktop.ui.dialogs.entity_dialog import EntityDialog
from lamefair_desktop.ui.dialogs.export_dialog import ExportDialog
from lamefair_desktop.ui.main_window import MainWindow
from lamefair_desktop.ui.models.bucket_model import ENTRY_ROLE
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE
from lamefair_desktop.ui.panels import bucket_downloads
from tests.ui.test_main_flow import _child

LONG = 60_000
FEI_INI = (
    "[User]\r\nDate=11/20/2026\r\nTime=09:31:07 AM\r\nUser=ada\r\n[System]\r\nType=DualBeam\r\n"
    "SystemType=Helios G4 UX\r\nSource=FEG\r\nSoftware=11.2.0\r\n[EBeam]\r\nHV=20000\r\n"
    "[Scan]\r\nPixelWidth=2.5e-09\r\nPixelHeight=2.5e-09\r\nDwelltime=3e-06\r\n"
)


def synthetic_fei_tiff(path: Path) -> Path:
    """A Helios 16-bit image with FEI's INI tag: a bright square on a darker ground."""
    image = np.full((200, 300), 1000, np.uint16)
    image[50:150, 100:200] = 30000
    tifffile.imwrite(path, image, extratags=[(34682, "s", 0, FEI_INI, True)])
    return path


@pytest.fixture
def window(qtbot):
    assert QGuiApplication.platformName() == "xcb", "run on an X server (QT_QPA_PLATFORM=xcb)"
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    with qtbot.waitSignals([window.workspace_ready, window.catalog_synced], timeout=LONG):
        pass
    qtbot.waitExposed(window)
    yield window
    out = os.environ.get("LAMEFAIR_X_SCREENSHOT")
    if out and not Path(out).exists():  # a failure: the screen as it was, for the report
        QGuiApplication.primaryScreen().grabWindow(0).save(out)
    rows = [(r.path, r.state, r.derived) for r in window.transfers.model.rows]
    print("transfers:", rows, "status:", window.statusBar().currentMessage())  # for a failure
    window.close()
    window.shutdown()


def click(qtbot, widget, pos: QPoint | None = None, double: bool = False) -> None:
    qtbot.waitUntil(widget.isVisible)
    where = {"pos": pos} if pos is not None else {}  # else the widget's middle
    if double:  # as X delivers one: a click, then the second press as a double-click
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, **where)
        qtbot.mouseDClick(widget, Qt.MouseButton.LeftButton, **where)
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, **where)


def toolbar_button(window, action):
    return window.findChild(QToolBar, "main-toolbar").widgetForAction(action)


def open_dialog(qtbot, kind: str) -> EntityDialog:
    found: list[EntityDialog] = []

    def shown() -> bool:
        found[:] = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, EntityDialog) and w.isVisible() and w.kind == kind
        ]
        return bool(found)

    qtbot.waitUntil(shown, timeout=10_000)
    return found[0]


def type_into(qtbot, dialog: EntityDialog, values: dict[str, str]) -> None:
    for name, text in values.items():
        editor = dialog.editors[name]
        if isinstance(editor, QLineEdit):
            click(qtbot, editor)
            qtbot.keyClicks(editor, text)
        else:  # date pickers: typed through their own text field
            dialog.set_text(name, text)
    with qtbot.waitSignal(dialog.saved, timeout=30_000):
        click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Save))


def click_row(qtbot, view, index, double: bool = False) -> None:
    """Click where the row is drawn, once it is (rows arrive before the view lays them out)."""
    view.scrollTo(index)
    qtbot.waitUntil(lambda: view.indexAt(view.visualRect(index).center()) == index)
    click(qtbot, view.viewport(), view.visualRect(index).center(), double)


def context_menu_on_row(qtbot, view, index) -> QMenu:
    """Right-click the row where it is drawn; the context menu that pops up. Sent to the window
    as the platform would send it (a click sent to the widget itself makes no context menu
    event: Qt makes that from the window's right press, as from X's)."""
    view.scrollTo(index)
    qtbot.waitUntil(lambda: view.indexAt(view.visualRect(index).center()) == index)
    point = view.viewport().mapTo(view.window(), view.visualRect(index).center())
    qtbot.mouseClick(view.window().windowHandle(), Qt.MouseButton.RightButton, pos=point)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=10_000)
    menu = QApplication.activePopupWidget()
    qtbot.waitExposed(menu)
    return menu


def choose_in_menu(qtbot, menu: QMenu, text: str) -> None:
    [action] = [a for a in menu.actions() if a.text() == text]
    assert action.isEnabled(), action.toolTip()
    click(qtbot, menu, menu.actionGeometry(action).center())


def visible(kind):
    shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]
    return shown[0] if shown else None


def files_in_crate(eln: Path) -> tuple[dict[str, dict], dict[str, bytes]]:
    """The crate's File entities by @id, and the archive's files by path below its folder."""
    with zipfile.ZipFile(eln) as archive:
        [metadata] = [n for n in archive.namelist() if n.endswith("/ro-crate-metadata.json")]
        folder = metadata.removesuffix("ro-crate-metadata.json")
        graph = json.loads(archive.read(metadata))["@graph"]
        contents = {
            name.removeprefix(folder): archive.read(name)
            for name in archive.namelist()
            if not name.endswith("/") and name != metadata
        }
    types = lambda e: e["@type"] if isinstance(e["@type"], list) else [e["@type"]]  # noqa: E731
    listed = {e["@id"]: e for e in graph if "File" in types(e)}
    return listed, contents


def pick_in_file_dialog(qtbot, path: Path) -> None:
    """When Qt's file dialog opens (it runs its own modal loop), type the path and press Enter."""

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            QTimer.singleShot(100, answer)
            return
        name = dialog.findChild(QLineEdit, "fileNameEdit")
        name.setFocus()
        qtbot.keyClicks(name, str(path))
        qtbot.keyClick(name, Qt.Key.Key_Return)

    QTimer.singleShot(100, answer)


def show_tab(qtbot, window, panel) -> None:
    bar = window.tabs.tabBar()
    click(qtbot, bar, bar.tabRect(window.tabs.indexOf(panel)).center())
    assert window.tabs.currentWidget() is panel


def walk_to(qtbot, browser, name: str):
    """Double-click down the folders until `name` is listed; click it."""
    for _ in range(8):
        qtbot.waitUntil(lambda: browser.model.rowCount() > 0 and not browser.model._loading)
        rows = [browser.sorted.index(r, 0) for r in range(browser.sorted.rowCount())]
        for index in rows:
            if index.data(ENTRY_ROLE).name == name:
                click_row(qtbot, browser.table, index)
                return index.data(ENTRY_ROLE)
        folders = [i for i in rows if i.data(ENTRY_ROLE).is_folder]
        assert folders, f"no folder leads to {name}: {[i.data() for i in rows]}"
        with qtbot.waitSignal(browser.model.page_loaded, timeout=30_000):
            click_row(qtbot, browser.table, folders[0], double=True)
    raise AssertionError(f"{name} not found")


def test_a_users_session_in_a_real_x_server(qtbot, window, tmp_path, monkeypatch):
    # --- the hierarchy, through the toolbar and the dialogs -----------------------------------
    click(qtbot, toolbar_button(window, window.new_project_action))
    type_into(qtbot, open_dialog(qtbot, "project"), {"name": "Oxide catalysts"})
    project = _child(qtbot, window, QModelIndex(), "Oxide catalysts")
    click_row(qtbot, window.catalog_view, project)
    new = toolbar_button(window, window.new_child_action)
    click(qtbot, new)
    type_into(
        qtbot,
        open_dialog(qtbot, "proposal"),
        {"number": "2026-0042", "pi_name": "Dr. Ada", "date": "2026-11-01"},
    )
    window.catalog_view.expand(project)
    proposal = _child(qtbot, window, project, "2026-0042")
    proposal_node = proposal.data(NODE_ROLE)
    click_row(qtbot, window.catalog_view, proposal)
    click(qtbot, new)
    type_into(
        qtbot,
        open_dialog(qtbot, "sample"),
        {"name": "Fe3O4 nanoparticles", "atom_types": "Fe, O", "preparation_date": "2026-10-30"},
    )
    window.catalog_view.expand(proposal)
    sample = _child(qtbot, window, proposal, "Fe3O4 nanoparticles")
    click_row(qtbot, window.catalog_view, sample)
    click(qtbot, new)
    type_into(qtbot, open_dialog(qtbot, "experiment"), {"name": "SEM overview"})
    window.catalog_view.expand(sample)
    experiment = _child(qtbot, window, sample, "SEM overview")
    click_row(qtbot, window.catalog_view, experiment)

    # --- upload a synthetic TIFF picked in the file dialog, see it valid NXem -----------------
    source = synthetic_fei_tiff(tmp_path / "helios-square.tif")
    pick_in_file_dialog(qtbot, source)
    with qtbot.waitSignal(window.upload_dialog_opened, timeout=30_000) as opened:
        click(qtbot, toolbar_button(window, window.upload_action))
    dialog = opened.args[0]
    qtbot.waitUntil(lambda: dialog.inspection is not None and dialog.table.rowCount() == 1)
    click(qtbot, dialog.description)
    qtbot.keyClicks(dialog.description, "square on a grid")
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    qtbot.waitUntil(ok.isEnabled, timeout=30_000)
    with qtbot.waitSignal(window.notified, timeout=LONG) as notified:
        click(qtbot, ok)
    assert "1 valid NXem" in notified.args[0], notified.args[0]
    # The tree calls the measurement by its description.
    experiment_index = window.tree_filter.mapFromSource(
        window.tree_model.index_of(experiment.data(NODE_ROLE))
    )
    window.catalog_view.expand(experiment_index)
    measurement_node = _child(qtbot, window, experiment_index, "square on a grid").data(NODE_ROLE)

    # --- the mirror bucket: the README as text (read on a worker), the NXem in the preview ----
    readers: list[threading.Thread] = []
    real_text_start = bucket_downloads.text_start

    def text_start(path):
        readers.append(threading.current_thread())
        return real_text_start(path)

    monkeypatch.setattr(bucket_downloads, "text_start", text_start)
    browser = window.buckets
    show_tab(qtbot, window, browser)
    mirror = proposal_node.data["mirror_bucket"]
    qtbot.waitUntil(lambda: browser.bucket_box.findData(mirror) >= 0, timeout=30_000)
    if browser.bucket != mirror:
        with qtbot.waitSignal(browser.model.page_loaded, timeout=30_000):
            assert browser.select_bucket(mirror)
    walk_to(qtbot, browser, "README.txt")
    with qtbot.waitSignal(browser.text_shown, timeout=LONG) as shown:
        click(qtbot, browser.preview_button)
    assert shown.args[0].startswith("# Written by lamefair.")  # the first README on the way
    assert readers
    assert all(t is not threading.main_thread() for t in readers), "read on the UI thread"
    for widget in QApplication.topLevelWidgets():  # close the text window
        if widget.isVisible() and widget.windowTitle() == "README.txt":
            widget.close()
    nxs = walk_to(qtbot, browser, "helios-square.nxs")
    with qtbot.waitSignal(window.preview.loaded, timeout=LONG):
        click(qtbot, browser.preview_button)
    assert window.preview.info.kind == "nexus"

    # --- a line profile, its end dragged across the square's edge ----------------------------
    measure = window.preview.measure
    click(qtbot, measure.profile_button)
    qtbot.waitUntil(lambda: measure.line is not None and measure.profile is not None)
    view = window.preview.image_view.getView()
    graphics = window.preview.image_view.ui.graphicsView
    info = window.preview.info
    start, end = measure.line.getHandles()
    to_screen = lambda p: graphics.mapFromScene(view.mapViewToScene(p))  # noqa: E731
    grab = to_screen(measure.line.mapToParent(end.pos()))
    target = to_screen(QPointF(150 * info.pixel_x, 100 * info.pixel_y))  # the middle
    before = measure.profile[1].copy()
    qtbot.mousePress(graphics.viewport(), Qt.MouseButton.LeftButton, pos=grab)
    for step in range(1, 11):
        point = grab + (target - grab) * (step / 10)
        qtbot.mouseMove(graphics.viewport(), point)
        qtbot.wait(15)  # each move delivered and drawn, as a hand moves (else the end lags)
    qtbot.mouseRelease(graphics.viewport(), Qt.MouseButton.LeftButton, pos=target)
    qtbot.waitUntil(lambda: len(measure.profile[1]) != len(before))
    moved = to_screen(measure.line.mapToParent(end.pos()))
    assert (moved - target).manhattanLength() <= 2, (moved, target)  # the end followed the mouse
    values = measure.profile[1]
    assert values.min() < 5000 < 25000 < values.max(), "the profile crosses the square's edge"

    # --- the export: the NXem downloaded, its SHA-256 the catalog's ---------------------------
    show_tab(qtbot, window, browser)
    walk_to(qtbot, browser, "helios-square.nxs")
    browser.ask_folder = lambda: str(tmp_path / "export")  # the folder picker's answer
    with qtbot.waitSignal(browser.downloaded, timeout=LONG) as downloaded:
        click(qtbot, browser.download_button)
    [saved] = downloaded.args[0].paths
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == nxs.sha256

    # --- Export for publication…: the tree's menu, the dialog, the .eln and its SHA-256s -------
    measurement = window.tree_filter.mapFromSource(window.tree_model.index_of(measurement_node))
    menu = context_menu_on_row(qtbot, window.catalog_view, measurement)
    choose_in_menu(qtbot, menu, "Export for publication…")
    qtbot.waitUntil(lambda: visible(ExportDialog) is not None, timeout=10_000)
    export = visible(ExportDialog)
    qtbot.waitExposed(export)
    eln = tmp_path / "square on a grid.eln"
    click(qtbot, export.path)
    qtbot.keyClick(export.path, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(export.path, str(eln))
    click(qtbot, export.licence.lineEdit())
    qtbot.keyClicks(export.licence.lineEdit(), "CC-BY-4.0")
    with qtbot.waitSignal(export.finished_export, timeout=LONG):
        click(qtbot, export.export_button)
    assert export.status.text().startswith(f"Wrote {eln}")
    listed, contents = files_in_crate(eln)
    assert set(contents) <= set(listed) | {"ro-crate-preview.html"}, set(contents) - set(listed)
    names = {path.rsplit("/", 1)[-1] for path in contents}
    assert {"helios-square.tif", "helios-square.nxs", "README.txt"} <= names, names
    for path, data in contents.items():
        if path in listed:
            assert listed[path]["sha256"] == hashlib.sha256(data).hexdigest(), path
    [raw] = [path for path in contents if path.endswith("/helios-square.tif")]
    assert contents[raw] == source.read_bytes()  # the raw bytes, as uploaded
    click(qtbot, export.cancel_button)  # "Close" once written
    assert not export.isVisible()

    # --- the X server's own picture of the screen --------------------------------------------
    show_tab(qtbot, window, window.preview)
    qtbot.wait(300)
    shot = QGuiApplication.primaryScreen().grabWindow(0)  # the root window: what X shows
    out = os.environ.get("LAMEFAIR_X_SCREENSHOT")
    if out:
        assert shot.save(out)
