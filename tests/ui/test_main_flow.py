"""The operator's and the PI's day, driven through the real window against the real local stack
(embedded catalog + SeaweedFS): build the hierarchy in the dialogs, drop two corpus TIFFs on the
experiment, see them stored and converted to valid NXem, browse the bucket, download a file and
check its SHA-256, open it in the preview and read a calibrated value under the cursor."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from PySide6.QtCore import QMimeData, QModelIndex, Qt, QUrl
from PySide6.QtWidgets import QDialogButtonBox, QToolBar

from lamefair_desktop.ui.models.bucket_model import ENTRY_ROLE
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE

TIFFS = ("FEI-Helios-Ebeam-16bits.tif", "test_tiff_Zeiss_SEM_512pix.tif")
LONG = 120_000


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fill_and_save(qtbot, dialog, values: dict[str, str]) -> None:
    for name, text in values.items():
        dialog.set_text(name, text)
    with qtbot.waitSignal(dialog.saved, timeout=30_000):
        qtbot.mouseClick(
            dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
        )


def _child(qtbot, window, parent: QModelIndex, name: str) -> QModelIndex:
    """The row under `parent` whose label starts with `name`, once the lazy load has it."""
    model = window.tree_filter
    found: list[QModelIndex] = []

    def look() -> bool:
        if model.canFetchMore(parent):
            model.fetchMore(parent)
        found[:] = [
            model.index(row, 0, parent)
            for row in range(model.rowCount(parent))
            if str(model.index(row, 0, parent).data()).startswith(name)
        ]
        return bool(found)

    qtbot.waitUntil(look, timeout=30_000)
    return found[0]


def _select(window, index: QModelIndex) -> None:
    window.catalog_view.setCurrentIndex(index)
    window.catalog_view.expand(index)


def _drop(window, index: QModelIndex, paths: list[Path]) -> bool:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    model = window.tree_filter
    if not model.canDropMimeData(mime, Qt.DropAction.CopyAction, -1, -1, index):
        return False
    return model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, -1, index)


def _open_until(qtbot, browser, name: str) -> None:
    """Double-click down the only folder of each level until `name` is listed; select it."""
    for _ in range(8):
        qtbot.waitUntil(lambda: browser.model.rowCount() > 0 and not browser.model._loading)
        if browser.select_name(name):
            return
        folders = [
            browser.sorted.index(row, 0)
            for row in range(browser.sorted.rowCount())
            if browser.sorted.index(row, 0).data(ENTRY_ROLE).is_folder
        ]
        assert folders, f"no folder leads to {name}"
        with qtbot.waitSignal(browser.model.page_loaded, timeout=30_000):
            browser.table.doubleClicked.emit(folders[0])
    raise AssertionError(f"{name} not found")


def test_hierarchy_upload_conversion_browse_download_preview(
    qtbot, window, corpus_tiff_dir, tmp_path
):
    # --- a first start: the tree area says what to do, greyed actions say why ------------------
    qtbot.waitUntil(window.first_run.isVisible, timeout=30_000)
    assert "Catalog server URL" in window.first_run.text.text()  # or connect to the lab's
    assert not window.catalog_view.isVisible()
    upload = window.findChild(QToolBar, "main-toolbar").widgetForAction(window.upload_action)
    assert not upload.isEnabled()
    assert upload.toolTip() == "Select an experiment to upload into."

    # --- the hierarchy, through the dialogs ----------------------------------------------------
    _fill_and_save(qtbot, window.create("project"), {"name": "Oxide catalysts"})
    project = _child(qtbot, window, QModelIndex(), "Oxide catalysts")
    qtbot.waitUntil(window.catalog_view.isVisible)
    assert not window.first_run.isVisible()

    again = window.create("project")  # the catalog says 409: shown on the name field
    again.set_text("name", "Oxide catalysts")
    qtbot.mouseClick(
        again.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: bool(again.error_text("name")), timeout=30_000)
    assert "already exists" in again.error_text("name")
    assert again.isVisible()
    again.reject()

    _select(window, project)
    _fill_and_save(
        qtbot,
        window.create_child(),
        {"number": "2026-0042", "pi_name": "Dr. Ada", "date": "2026-11-01", "members": "ada, bob"},
    )
    proposal = _child(qtbot, window, project, "2026-0042")
    # The node, not the index: a stored measurement refreshes the tree, and an index held
    # across that points at nothing (QModelIndex lives until the model changes).
    proposal_node = proposal.data(NODE_ROLE)
    assert proposal_node.data["members"] == ["ada", "bob"]

    _select(window, proposal)
    sample_dialog = window.create_child()
    sample_dialog.set_text("atom_types", "Fe, Xx")  # checked as you type, before any request
    assert "Xx" in sample_dialog.error_text("atom_types")
    _fill_and_save(
        qtbot,
        sample_dialog,
        {
            "name": "Fe3O4 nanoparticles",
            "identifier": "S-17",
            "preparation_date": "2026-10-30",
            "atom_types": "Fe, O",
            "physical_form": "powder",
        },
    )
    sample = _child(qtbot, window, proposal, "Fe3O4 nanoparticles")

    _select(window, sample)
    _fill_and_save(
        qtbot,
        window.create_child(),
        {"name": "SEM overview", "start_time": "2026-11-20 09:30", "description": "grid 3"},
    )
    experiment = _child(qtbot, window, sample, "SEM overview")
    _select(window, experiment)
    experiment_node = experiment.data(NODE_ROLE)
    assert upload.isEnabled()
    assert window.details.value("Start") == "2026-11-20 09:30"  # picked in the form, local

    # Edit in place: the tree shows the new name without collapsing.
    edit = window.edit_selected()
    assert edit.text("name") == "SEM overview"
    _fill_and_save(qtbot, edit, {"description": "grid 3, area B"})
    assert experiment.data(NODE_ROLE).data["description"] == "grid 3, area B"

    # --- drop two TIFFs on the experiment ------------------------------------------------------
    acquisition = tmp_path / "acquisition"
    acquisition.mkdir()
    sources = [shutil.copy(corpus_tiff_dir / name, acquisition / name) for name in TIFFS]
    sources = [Path(s) for s in sources]
    assert not _drop(window, sample, sources)  # only experiments take files
    with qtbot.waitSignal(window.upload_dialog_opened, timeout=30_000) as opened:
        assert _drop(window, experiment, sources)
    dialog = opened.args[0]
    qtbot.waitUntil(
        lambda: dialog.inspection is not None and bool(dialog.inspection.files), timeout=30_000
    )
    looks = {look.rel_path: look for look in dialog.inspection.files}
    assert looks["FEI-Helios-Ebeam-16bits.tif"].flavour == "fei"
    assert looks["test_tiff_Zeiss_SEM_512pix.tif"].calibrated
    assert dialog.operator.text()  # the signed-in user by default
    assert dialog.convert.isChecked()
    dialog.description.setText("two SEM overviews")
    with qtbot.waitSignal(window.upload_registered, timeout=60_000) as registered:
        qtbot.mouseClick(
            dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton
        )
    measurement = registered.args[0]
    assert len(measurement["files"]) == 2

    # --- stored, converted, validated ---------------------------------------------------------
    with qtbot.waitSignal(window.notified, timeout=LONG) as notified:
        pass
    assert "stored and converted: 2 file(s), 2 valid NXem" in notified.args[0]
    rows = window.transfers.model.rows
    qtbot.waitUntil(lambda: len(rows) == 2 and all(r.derived for r in rows), timeout=30_000)
    assert {r.state for r in rows} == {"stored"}
    assert {r.derived.verdict for r in rows} == {"valid NXem (FAIRmat)"}
    assert {r.derived.validator for r in rows} == {"pynxtools"}
    nxem_column = window.transfers.model.columnCount() - 1
    cell = window.transfers.model.index(0, nxem_column)
    with qtbot.waitSignal(window.transfers.report_shown) as shown:
        window.transfers.table.doubleClicked.emit(cell)
    report = shown.args[0]
    assert "FAIRmat validator (pynxtools" in report.detailedText()
    report.close()

    # --- browse the raw bucket, download, compare SHA-256 ------------------------------------
    browser = window.buckets
    raw_bucket = proposal_node.data["raw_bucket"]
    with qtbot.waitSignal(browser.model.page_loaded, timeout=30_000):
        window.browse(proposal_node, "raw_bucket")
    assert browser.bucket == raw_bucket
    assert browser.bucket_box.count() == 2  # raw and mirror of the one proposal
    _open_until(qtbot, browser, TIFFS[1])
    assert len(browser.breadcrumbs.labels()) >= 2  # "/" and the folders walked through
    _crumbs_are_readable(qtbot, window, browser)
    target = tmp_path / "downloads"
    browser.ask_folder = lambda: str(target)
    with qtbot.waitSignal(browser.downloaded, timeout=LONG) as downloaded:
        qtbot.mouseClick(browser.download_button, Qt.MouseButton.LeftButton)
    [saved] = downloaded.args[0].paths
    assert saved.name == TIFFS[1]
    assert _sha(saved) == _sha(sources[1])
    # The measurement's README.txt on its own, shown as text (it was refused as "reserved").
    assert browser.select_name("README.txt")
    with qtbot.waitSignal(browser.text_shown, timeout=LONG) as shown:
        qtbot.mouseClick(browser.preview_button, Qt.MouseButton.LeftButton)
    assert "kind: measurement" in shown.args[0]

    # --- the mirror bucket holds the NXem ----------------------------------------------------
    assert browser.select_bucket(proposal_node.data["mirror_bucket"])
    _open_until(qtbot, browser, "test_tiff_Zeiss_SEM_512pix.nxs")

    # --- preview the remote file with a calibrated cursor ------------------------------------
    with qtbot.waitSignal(window.preview.loaded, timeout=LONG):
        qtbot.mouseClick(browser.preview_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.preview
    info = window.preview.info
    assert info.kind == "nexus"
    text = window.preview.show_value_at(10.5 * info.pixel_x, 20.5 * info.pixel_y)
    assert text.startswith("x = ")
    assert "value = " in text
    assert ("nm" in text) or ("µm" in text)
    assert window.preview.scale_bar is not None

    # --- the tree: a measurement's details and README, a file's menu and double-click --------
    _where_things_are(qtbot, window, experiment_node, sources[1], tmp_path)


def _crumbs_are_readable(qtbot, window, browser) -> None:
    """A deep path (SAMPLE-…/EXP-…/raw/<measurement>) keeps every crumb as wide as its text, side
    by side (they overlapped), and leaves the catalog tree its width (it was squeezed to a sliver)."""
    window.tabs.setCurrentWidget(browser)
    window.resize(1400, 820)
    qtbot.waitUntil(lambda: browser.isVisible())
    buttons = browser.breadcrumbs.buttons()
    qtbot.waitUntil(lambda: all(b.width() > 0 for b in buttons))
    for button in buttons:
        assert button.width() >= button.sizeHint().width(), button.text()
    for left, right in zip(buttons, buttons[1:], strict=False):
        assert left.geometry().right() < right.geometry().left(), (left.text(), right.text())
    assert window.catalog_view.width() >= 250, window.catalog_view.width()


def _where_things_are(qtbot, window, experiment_node, source: Path, tmp_path: Path) -> None:
    def index_of(node) -> QModelIndex:  # nodes outlive a sync's refresh; indexes do not
        return window.tree_filter.mapFromSource(window.tree_model.index_of(node))

    measurement = _child(qtbot, window, index_of(experiment_node), "").data(NODE_ROLE)
    count = len(measurement.data["files"])
    with qtbot.waitSignal(window.details.readme_shown, timeout=LONG) as shown:
        window.catalog_view.setCurrentIndex(index_of(measurement))
    assert "kind: measurement" in shown.args[0]  # the README the catalog wrote, fetched
    assert "description: two SEM overviews" in shown.args[0]
    # Counted from the files' own rows (the measurement's copy keeps their registered states).
    stored = f"{count} file(s), {count} stored"
    qtbot.waitUntil(lambda: window.details.summary.text().startswith(stored), timeout=30_000)

    window.catalog_view.expand(index_of(measurement))
    node = _child(qtbot, window, index_of(measurement), f"✓ {source.name}").data(NODE_ROLE)
    assert all(a.isEnabled() for a in window.file_menu(node).actions() if a.text())
    browser = window.buckets
    with qtbot.waitSignal(window.preview.loaded, timeout=LONG):
        window.catalog_view.doubleClicked.emit(index_of(node))
    assert window.tabs.currentWidget() is window.preview
    assert window.preview.info.kind != "nexus"  # the raw TIFF this time

    window.show_file_in_bucket(node)
    qtbot.waitUntil(lambda: [e.name for e in browser.selected()] == [source.name], timeout=30_000)
    assert browser.bucket == node.data["bucket"]
    with qtbot.waitSignal(browser.link_copied, timeout=30_000) as copied:
        window.copy_file_link(node)
    assert source.name in copied.args[0]
    with qtbot.waitSignal(browser.downloaded, timeout=LONG) as downloaded:
        window.download_file(node, str(tmp_path / "from-the-tree"))
    assert _sha(downloaded.args[0].paths[0]) == _sha(source)
