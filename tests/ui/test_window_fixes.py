"""Bugs seen on screen (issue 17), each checked on the widget concerned, without the stack."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QAbstractItemModelTester
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QTreeView

from lamefair_catalog.shared import GENERIC_PAIR
from lamefair_desktop.engines.messages import Control
from lamefair_desktop.engines.process import EngineTarget
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.nexus.mapping import default_registry
from lamefair_desktop.transfer.progress import FileProgress
from lamefair_desktop.ui.dialogs.entity_dialog import EntityDialog
from lamefair_desktop.ui.dialogs.settings_dialog import SettingsDialog
from lamefair_desktop.ui.main_window import MainWindow
from lamefair_desktop.ui.models.bucket_model import Entry
from lamefair_desktop.ui.models.catalog_filter_model import CatalogFilterModel
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE, CatalogTreeModel
from lamefair_desktop.ui.panels.bucket_browser import BucketBrowser
from lamefair_desktop.ui.panels.transfers_panel import TransfersPanel
from lamefair_desktop.ui.panels.watch_panel import WatchRuleDialog, proposed_pair
from lamefair_desktop.ui.window.remembered import default_operator, remember_operator
from lamefair_desktop.ui.window.tree_memory import TreeMemory
from lamefair_desktop.workers.engine_worker import EngineWorker
from tests.ui.test_catalog_tree import cache  # noqa: F401 - the fixture

PAIRS = default_registry().pairs()


def test_a_watch_rule_proposes_detect_or_the_experiments_pair(qtbot):
    assert PAIRS[0][0] != GENERIC_PAIR  # the list's first item was taken by default
    settings = Settings(pairs_by_experiment={"e1": "TEM_JEOL_F200_TVIPS"})
    for experiment, expected in (("e2", GENERIC_PAIR), ("e1", "TEM_JEOL_F200_TVIPS")):
        dialog = WatchRuleDialog(
            server="cat",
            pairs=PAIRS,
            experiment_id=experiment,
            experiment_name="grid",
            default_pair=proposed_pair(settings, experiment),
        )
        qtbot.addWidget(dialog)
        assert dialog.pair.currentData() == expected


def test_deep_breadcrumbs_and_a_long_bucket_name_keep_the_browser_narrow(qtbot):
    browser = BucketBrowser()
    qtbot.addWidget(browser)
    long_name = "Operando oxide catalysts under reducing atmospheres " * 2
    browser.bucket_box.addItem(f"{long_name}/ 2026-0042 — raw data", "b")
    browser.breadcrumbs.show_prefix(
        "p-operando/PROPOSAL-2026-0042/SAMPLE-fe3o4-nanoparticles-batch-17/"
        "EXP-sem-overview-grid-3-area-b/raw/20261207-015824-b06842d5/run/sub/"
    )
    # The main window gives the tabs 940 of 1280 px: the browser must fit in far less.
    assert browser.minimumSizeHint().width() < 700, browser.minimumSizeHint().width()
    browser.model.beginResetModel()
    browser.model.rows = [Entry("a.tif", "k/a.tif", False, 1234, "2026-12-07T01:58:24.123+00:00")]
    browser.model.endResetModel()
    browser.resize(900, 500)
    browser.show()
    qtbot.waitExposed(browser)
    modified = browser.sorted.index(0, 2).data()
    assert modified == "2026-12-07 01:58:24"
    needed = browser.table.fontMetrics().horizontalAdvance(modified)
    assert browser.table.columnWidth(2) > needed  # it was cut to "2026-12-07 ..."


def _tree(qtbot, cache):  # noqa: F811
    model = CatalogTreeModel(cache)
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    proxy = CatalogFilterModel()
    proxy.setSourceModel(model)
    view = QTreeView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.show()  # a shown view loads the root's children itself, as the window's does
    return model, proxy, view


def _open_down_to_the_experiment(qtbot, proxy, view) -> QModelIndex:
    index = QModelIndex()
    for _ in range(4):  # project > proposal > sample > experiment, each loaded on a worker
        qtbot.waitUntil(lambda i=index: proxy.rowCount(i) > 0, timeout=10_000)
        index = proxy.index(0, 0, index)
        view.expand(index)
    qtbot.waitUntil(lambda: proxy.rowCount(index) > 0, timeout=10_000)  # its measurement
    return index


def test_a_sync_shows_a_new_measurement_and_keeps_branches_and_selection(qtbot, cache):  # noqa: F811
    model, proxy, view = _tree(qtbot, cache)
    experiment = _open_down_to_the_experiment(qtbot, proxy, view)
    view.setCurrentIndex(experiment)
    node = experiment.data(NODE_ROLE)
    assert experiment.data() == "HRSTEM (1)"
    with cache.sessions() as session:  # what a sync's pull writes after a stored upload
        cache.put(
            session,
            "measurement",
            {"id": "m-new", "experiment": node.id, "slug": "20261207-000000-ffff", "files": []},
        )
        session.commit()

    model.refresh()  # what a sync with changes (F5, a stored measurement) does now
    qtbot.waitUntil(lambda: experiment.data() == "HRSTEM (2)", timeout=10_000)
    assert proxy.rowCount(experiment) == 2
    assert view.currentIndex().data(NODE_ROLE) is node  # it was reset: all closed, none selected
    parent = experiment
    while parent.isValid():
        assert view.isExpanded(parent), parent.data()
        parent = parent.parent()


def test_open_branches_and_the_selection_come_back_after_a_restart(qtbot, cache):  # noqa: F811
    model, proxy, view = _tree(qtbot, cache)
    experiment = _open_down_to_the_experiment(qtbot, proxy, view)
    view.setCurrentIndex(experiment)
    saved = TreeMemory(view, model, proxy).state()  # what the window writes when it closes

    model, proxy, view = _tree(qtbot, cache)  # the next start
    memory = TreeMemory(view, model, proxy)
    memory.restore(*saved)
    qtbot.waitUntil(lambda: view.currentIndex().data() == "HRSTEM (1)", timeout=10_000)
    current = view.currentIndex()
    while current.isValid():
        assert view.isExpanded(current), current.data()
        current = current.parent()


def test_the_total_bar_and_rates_say_what_happened(qtbot):
    panel = TransfersPanel()
    qtbot.addWidget(panel)
    assert panel.total.text() == "Nothing queued"  # it said "0 % of everything queued"

    def event(file_id, state, done, rate=0.0):
        return FileProgress(file_id, "m", f"{file_id}.tif", 1000, done, rate, None, state)

    # A one-PUT file reports its rate once, just before "stored" (one flush gets both).
    for item in (event("a", "uploading", 1000, 2e6), event("a", "stored", 1000)):
        panel._on_progress(item)
    panel._on_progress(event("b", "cancelled", 0))
    panel._flush()
    assert panel.model.index(0, 3).data() == "1.9 MiB/s"  # Rate stayed empty
    assert panel.total.value() == 100  # the cancelled file is not "queued" any more
    assert panel.total.text().startswith("100 % of everything queued")


def test_a_409_message_is_shown_whole(qtbot):
    dialog = EntityDialog(None, "project")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog._show_error(
        "name",
        "A project named 'Oxide catalysts' already exists (409 Conflict); choose another name, "
        "or open the existing project from the catalog tree instead of creating a new one.",
    )
    label = dialog.errors["name"]
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()))
    assert label.heightForWidth(label.width()) > label.fontMetrics().height() * 2  # wrapped


def test_settings_shortcut_browse_buttons_and_help(qtbot, tmp_path):
    window = MainWindow(open_workspace=None)
    qtbot.addWidget(window)
    platform = QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences)
    expected = platform or [QKeySequence("Ctrl+,")]  # Linux has none: Ctrl+, did nothing
    assert window.settings_action.shortcuts() == expected
    help_menu = window.menuBar().actions()[-1].menu()
    titles = [a.text() for a in help_menu.actions() if a.text()]
    assert titles == ["&Keyboard shortcuts", "&Documentation", "&About lamefair"]
    shortcuts = window.show_shortcuts()
    listed = {shortcuts.table.item(r, 0).text() for r in range(shortcuts.table.rowCount())}
    assert {"Settings", "Upload files", "Sync now"} <= listed

    dialog = SettingsDialog(Settings(), pairs=PAIRS)
    qtbot.addWidget(dialog)
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    dialog.ask_ca_bundle = lambda: str(bundle)
    dialog.ask_cache_dir = lambda: str(tmp_path)
    buttons = [b for b in dialog.findChildren(QPushButton) if b.text() == "Browse…"]
    assert len(buttons) == 4  # CA bundle, cache folder, Fiji, napari
    for button in buttons[:2]:
        button.click()
    assert (dialog.ca_bundle.text(), dialog.cache.text()) == (str(bundle), str(tmp_path))


def test_the_operator_is_the_account_then_the_last_one_typed():
    assert default_operator("", local=True) not in ("", "local")  # the computer's account
    assert default_operator("ada", local=False) == "ada"
    remember_operator("bob")
    assert default_operator("ada", local=False) == "bob"


def test_cancelling_asks_first(qtbot):
    panel = TransfersPanel()
    qtbot.addWidget(panel)
    panel._on_progress(FileProgress("a", "m", "a.tif", 10, 5, 0.0, None, "uploading"))
    panel._flush()
    # Not started: its commands wait in order until the child runs, and can be read there.
    engines = EngineWorker(EngineTarget("http://127.0.0.1:1", "db", "t", False, Settings()))
    panel.engines = engines
    sent = engines._early
    panel.table.selectRow(0)
    asked = []

    def answer(button_text: str) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, lambda: answer(button_text))
            return
        asked.append(box.text() + box.informativeText())
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(0, lambda: answer("Keep uploading"))
    panel.cancel_button.click()
    assert sent == []
    assert "parts already sent are dropped" in asked[0]
    QTimer.singleShot(0, lambda: answer("Cancel uploads"))
    panel.cancel_button.click()
    assert sent == [Control("cancel", ("a",))]


def test_the_window_remembers_its_size_splitter_and_open_branches(qtbot):
    first = MainWindow(open_workspace=None)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.resize(760, 560)  # inside the offscreen screen: restoreGeometry keeps it there
    first.splitter.setSizes([300, 460])
    qtbot.waitUntil(lambda: first.size().toTuple() == (760, 560))
    sizes = first.splitter.sizes()
    first.tree_memory.restore(["project:p1", "proposal:q1"], "sample:s1")  # as if open
    first.close()

    again = MainWindow(open_workspace=None)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert again.size().toTuple() == (760, 560)  # it came back at 1280 x 800
    assert again.splitter.sizes() == sizes
    opened, current = again.tree_memory.state()
    assert (sorted(opened), current) == (["project:p1", "proposal:q1"], "sample:s1")


def test_a_copied_presigned_link_says_the_servers_lifetime(qtbot):
    # The window said "valid 1 hour" whatever LAMEFAIR_PRESIGN_TTL was; the catalog's presign
    # answer now says its lifetime (tests/catalog/test_share_links.py) and the browser passes it on.
    window = MainWindow(open_workspace=None)
    qtbot.addWidget(window)
    window.buckets.link_copied.emit("https://s3.example/x?X-Amz-Expires=120", 120)
    assert window.statusBar().currentMessage() == "Presigned link copied (valid 2 minutes)."
    window.buckets.link_copied.emit("https://s3.example/x", 7 * 86400)
    assert window.statusBar().currentMessage() == "Presigned link copied (valid 7 days)."
