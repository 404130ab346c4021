"""What the window looks like on a dark palette and a 2x screen, and what the tree calls a
measurement: checked on rendered pixels and palette roles, as a user would see them."""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QToolBar

from lamefair_desktop.catalog.sync import CatalogCache
from lamefair_desktop.catalog.tree import CHILD_KIND, LoadState, TreeNode, matches
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.ui.dialogs.entity_dialog import EntityDialog
from lamefair_desktop.ui.dialogs.settings_dialog import SettingsDialog
from lamefair_desktop.ui.look import (
    READABLE,
    apply_colour_scheme,
    contrast,
    follow_colour_scheme,
    is_dark,
)
from lamefair_desktop.ui.main_window import MainWindow
from lamefair_desktop.ui.models.bucket_model import BucketModel, Entry
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE, CatalogTreeModel, kind_icon
from lamefair_desktop.ui.panels.watch_panel import WatchRuleDialog

Role = QPalette.ColorRole


@pytest.fixture
def system_scheme(qapp):
    """The system's colour scheme as Qt reports it (QStyleHints.colorSchemeChanged); the
    application's palette is put back afterwards for the other tests."""
    original = QPalette(qapp.palette())
    hints = qapp.styleHints()
    follow_colour_scheme(qapp)

    def switch(scheme: Qt.ColorScheme) -> None:
        hints.colorSchemeChanged.emit(scheme)
        qapp.processEvents()  # Qt posts the palette change to each widget

    yield switch
    hints.colorSchemeChanged.disconnect(apply_colour_scheme)
    qapp.setPalette(original)
    qapp.processEvents()
    qapp.setProperty("lamefair-dark", False)


def rendered_contrast(widget) -> float:
    """The contrast of a widget's text as drawn: its commonest colour is the background, the
    pixel farthest from it the core of a glyph."""
    widget.resize(widget.sizeHint().expandedTo(QSize(200, 24)))
    image = widget.grab().toImage()
    colours = Counter(
        image.pixel(x, y) for x in range(image.width()) for y in range(image.height())
    )
    background = QColor.fromRgb(colours.most_common(1)[0][0])
    return max(contrast(QColor.fromRgb(c), background) for c in colours)


def problem_labels(qtbot, window):
    """The texts that say something went wrong, each showing one."""
    watch = WatchRuleDialog(
        server="cat", pairs=[], experiment_id=None, experiment_name="", default_pair=None
    )
    settings = SettingsDialog(Settings())
    for dialog in (watch, settings):
        qtbot.addWidget(dialog)
    watch.error.setText("Choose a folder to watch.")
    settings.error.setText("The catalog URL must start with https://")
    window.buckets.show_fixity({"problems": [{"path": "a.tif", "result": "mismatch"}]})
    window._keep = (watch, settings)  # the dialogs live as long as the window here
    return [watch.error, settings.error, window.buckets.fixity_line]


def test_texts_stay_readable_on_a_dark_palette_and_follow_a_switch(qtbot, system_scheme):
    window = MainWindow(open_workspace=None)
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.show()
    labels = problem_labels(qtbot, window)
    sample = EntityDialog(None, "sample", parent_id="p")
    qtbot.addWidget(sample)
    sample.set_text("atom_types", "Fe, Xx")  # checked as typed: an error under the field
    error = sample.errors["atom_types"]
    assert error.text()

    system_scheme(Qt.ColorScheme.Dark)  # the desktop switches while lamefair runs
    assert is_dark(QApplication.palette())
    for label in [*labels, error]:
        assert rendered_contrast(label) >= READABLE, label.text()
    # The views: the catalog tree, the tables, the metadata pane, the status texts.
    views = [
        window.catalog_view,
        window.transfers.table,
        window.buckets.table,
        window.preview.metadata_view,
    ]
    for view in views:
        palette = view.palette()
        assert contrast(palette.color(Role.Text), palette.color(Role.Base)) >= READABLE
        assert is_dark(palette), type(view).__name__
    status = window.statusBar().palette()
    assert contrast(status.color(Role.WindowText), status.color(Role.Window)) >= READABLE
    # A failed fixity check in the bucket table, in its Verified column.
    model = BucketModel()
    model.rows = [Entry("a.tif", "a.tif", False, 10, "", "ab" * 32, "2026-11-01", "mismatch")]
    brush = model.data(model.index(0, 3), Qt.ItemDataRole.ForegroundRole)
    base = window.buckets.table.palette().color(Role.Base)
    assert contrast(brush.color(), base) >= READABLE

    system_scheme(Qt.ColorScheme.Light)  # and back: the style's light palette, red again
    assert not is_dark(QApplication.palette())
    for label in labels:
        assert rendered_contrast(label) >= READABLE, label.text()
    assert window.buckets.fixity_line.palette().color(Role.WindowText).red() > 120


def test_icons_are_drawn_at_the_screens_density(qtbot):
    window = MainWindow(open_workspace=None)
    qtbot.addWidget(window)
    toolbar = window.findChild(QToolBar, "main-toolbar")
    logical = toolbar.iconSize()
    icons = {a.text(): a.icon() for a in toolbar.actions() if not a.isSeparator()}
    icons |= {kind: kind_icon(kind) for kind in CHILD_KIND.values()}
    for name, icon in icons.items():
        assert not icon.isNull(), f"{name} has no icon"
        for size in (QSize(16, 16), logical):
            pixmap = icon.pixmap(size, 2.0)  # a 2x screen (Retina, 4K at 200 %)
            # Device pixels, not the 1x pixmap blown up: a bitmap icon comes back at its own
            # size with a ratio of 1 and the screen stretches it (blurred).
            assert pixmap.devicePixelRatio() == 2.0, name
            assert pixmap.size() == size * 2, (name, pixmap.size())
            one = icon.pixmap(size, 1.0).toImage().scaled(size * 2)
            assert pixmap.toImage() != one, f"{name}: upscaled"


def test_a_measurement_is_called_by_its_description_with_its_slug_in_the_tooltip(qtbot, tmp_path):
    cache = CatalogCache(open_local_db(tmp_path / "cache.sqlite"), "http://127.0.0.1:1")
    experiment = "e1"
    with cache.sessions() as session:
        for slug, description in (
            ("20261124-014605-f5796b2d", "two SEM\n overviews"),  # as typed in the dialog
            ("20261124-020000-0a1b2c3d", ""),  # a watch capture: no description
        ):
            cache.put(
                session,
                "measurement",
                {"id": slug, "experiment": experiment, "slug": slug, "description": description},
            )
        session.commit()
    model = CatalogTreeModel(cache)
    model.tree.root.children = [
        TreeNode("experiment", experiment, "HRSTEM", parent=model.tree.root)
    ]
    model.tree.root.state = LoadState.LOADED
    parent = model.index(0, 0)
    with qtbot.waitSignal(model.children_loaded, timeout=10_000):
        model.fetchMore(parent)
    rows = [model.index(r, 0, parent) for r in range(model.rowCount(parent))]
    shown = {index.data(): index.data(Qt.ItemDataRole.ToolTipRole) for index in rows}
    assert shown == {  # in the order they were made (the slug starts with the time)
        "two SEM overviews": "measurement 20261124-014605-f5796b2d",
        "20261124-020000-0a1b2c3d": "measurement 20261124-020000-0a1b2c3d",
    }
    node = rows[0].data(NODE_ROLE)
    assert matches(node, "overviews")  # the filter finds either
    assert matches(node, "014605")
