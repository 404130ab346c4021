"""Where things are and what to do (issue 17), on the widgets, from a local cache: the details
pane under the tree, the files' context menu, and the forms' Elements field and date pickers.
The README fetch, the menu's actions on stored files, the first-run state and the actions'
reasons with a catalog behind them are checked in test_main_flow.py."""

from __future__ import annotations

from PySide6.QtCore import QDate, QModelIndex, QPoint, Qt
from PySide6.QtWidgets import QDateEdit, QDateTimeEdit, QFormLayout, QLabel

from lamefair_desktop.catalog.sync import Node
from lamefair_desktop.ui.dialogs.entity_dialog import EntityDialog
from lamefair_desktop.ui.main_window import MainWindow
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE
from tests.ui.test_catalog_tree import cache  # noqa: F401 - the fixture


def _window(qtbot, cache):  # noqa: F811
    window = MainWindow(open_workspace=None)
    qtbot.addWidget(window)
    window.tree_model.reload(cache)
    window.show()
    qtbot.waitExposed(window)
    return window


def _down(qtbot, window, names: list[str]) -> QModelIndex:
    """Open the tree along these labels (each level loads on a worker); the last one's index."""
    model, index = window.tree_filter, QModelIndex()
    for name in names:
        window.catalog_view.expand(index)

        def found(parent=index, name=name):
            rows = [model.index(r, 0, parent) for r in range(model.rowCount(parent))]
            return next((i for i in rows if str(i.data()).lstrip("✓✗↑… ").startswith(name)), None)

        qtbot.waitUntil(lambda f=found: f() is not None, timeout=10_000)
        index = found()
    return index


def test_selecting_an_entry_shows_its_details(qtbot, cache):  # noqa: F811
    window = _window(qtbot, cache)
    details = window.details
    assert not details.readme.isVisibleTo(details)  # nothing selected: no README box
    sample = _down(qtbot, window, ["Oxides", "2026-17", "LSMO film"])
    window.catalog_view.setCurrentIndex(sample)  # it showed nothing at all
    assert details.title.text() == "Sample · LSMO film"
    assert details.value("Elements") == "La, Sr, Mn, O"
    assert details.value("Preparation date") == "2026-10-01"
    assert details.value("Identifier") == "S-42"
    assert details.summary.text().startswith("1 experiment")

    measurement = _down(qtbot, window, ["Oxides", "2026-17", "LSMO film", "HRSTEM", "2026"])
    window.catalog_view.setCurrentIndex(measurement)
    assert details.summary.text().startswith("2 file(s), 1 stored")
    # A splitter between tree and details: both keep a usable height in the default window.
    assert window.catalog_view.height() > 150
    assert details.height() > 100


def test_files_in_the_tree_have_a_menu_that_says_what_can_be_done(qtbot, cache):  # noqa: F811
    window = _window(qtbot, cache)
    failed = _down(qtbot, window, ["Oxides", "2026-17", "LSMO film", "HRSTEM", "2026", "b.tif"])
    node = failed.data(NODE_ROLE)
    menu = window.file_menu(node)
    actions = [a for a in menu.actions() if a.text()]
    assert [a.text() for a in actions] == ["Preview", "Download…", "Copy link", "Show in bucket"]
    assert not any(a.isEnabled() for a in actions)
    assert actions[0].toolTip() == "b.tif is not stored (failed): only stored files can be fetched."
    window._context_menu(window.catalog_view.visualRect(failed).center())  # pops the same menu

    node.data = {**node.data, "bucket": "raw-b", "key": "p/raw/m/b.tif", "state": "stored"}
    # Stored, but no catalog to fetch it from yet (enabled with one: test_main_flow.py).
    stored = [a for a in window.file_menu(node).actions() if a.text()]
    assert {a.toolTip() for a in stored} == {"Not connected yet."}
    window._tree_double_clicked(failed)  # a double-click asks for the preview
    assert window.statusBar().currentMessage() == "Not connected yet."


def _editor_label(dialog: EntityDialog, name: str) -> str:
    form = dialog.layout().itemAt(0).layout()
    assert isinstance(form, QFormLayout)
    for row in range(form.rowCount()):
        field = form.itemAt(row, QFormLayout.ItemRole.FieldRole).widget()
        if dialog.editors[name] in field.findChildren(type(dialog.editors[name])):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
            assert isinstance(label, QLabel)
            return label.text()
    raise AssertionError(name)


def test_the_sample_form_says_elements_and_picks_dates_on_a_calendar(qtbot):
    dialog = EntityDialog(None, "sample")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert _editor_label(dialog, "atom_types") == "Elements"  # it said "Atom types"
    assert "chemical elements" in dialog.editors["atom_types"].toolTip()

    dialog.set_text("name", "Fe3O4 nanoparticles")
    picker = dialog.editors["preparation_date"]
    assert isinstance(picker, QDateEdit)
    assert picker.calendarPopup()
    assert dialog.body()["preparation_date"] is None  # optional: empty until picked
    arrow = QPoint(picker.width() - 6, picker.height() // 2)  # the drop-down button
    qtbot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=arrow)
    calendar = picker.calendarWidget()
    qtbot.waitUntil(calendar.isVisible)
    today = QDate.currentDate()
    assert (calendar.yearShown(), calendar.monthShown()) == (today.year(), today.month())
    calendar.clicked.emit(QDate(2026, 10, 30))  # the user clicks the 30th
    assert dialog.body()["preparation_date"] == "2026-10-30"

    experiment = EntityDialog(
        None,
        "experiment",
        node=Node(
            "experiment",
            "e1",
            "s1",
            "HRSTEM",
            {"name": "HRSTEM", "start_time": "2026-11-20T08:30Z"},
            False,
        ),
    )
    qtbot.addWidget(experiment)
    start = experiment.editors["start_time"]
    assert isinstance(start, QDateTimeEdit)
    assert start.calendarPopup()
    assert start.dateTime().date() == QDate(2026, 11, 20)  # the stored time, shown local
    assert experiment.body()["end_time"] is None
    assert experiment.body()["start_time"].startswith("2026-11-20")
