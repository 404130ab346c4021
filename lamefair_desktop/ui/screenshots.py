"""Render the main views offscreen to PNG for the README: `make screenshots` (or
`python -m lamefair_desktop.ui.screenshots OUT_DIR [CORPUS_TIFF_DIR]`).

It runs the real window on a throw-away local stack (its own LAMEFAIR_HOME): creates a small
hierarchy, uploads two corpus TIFFs with conversion, then grabs the transfers, the bucket browser
(as a table and as thumbnails), the Watch tab (a rule and a capture in its log), the preview (with
its acquisition summary; its line profile and rectangle statistics; its ruler and a view exported
with the scale bar burnt in; an FEI file's data bar shown), the Find panel, the two dialogs an operator
meets, the share-link and export dialogs, the settings, and the window on a dark palette.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

IMAGES = ("FEI-Helios-Ebeam-16bits.tif", "test_tiff_Zeiss_SEM_512pix.tif")


def _wait(app, seconds: float, until) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        if until():
            return True
        time.sleep(0.01)
    return False


def _expand_all(app, window) -> None:
    """Expand every level; children load lazily on a worker, so one level per round."""
    view, model = window.catalog_view, window.tree_filter
    for _ in range(6):
        level = [model.index(r, 0) for r in range(model.rowCount())]
        while level:
            below = []
            for index in level:
                view.expand(index)
                below += [model.index(r, 0, index) for r in range(model.rowCount(index))]
            level = below
        _wait(app, 0.5, lambda: False)


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs/screenshots").resolve()
    shared = (
        os.environ.get("LAMEFAIR_CORPUS") or Path(__file__).resolve().parents[3] / "shared/corpus"
    )
    corpus = Path(
        argv[1] if len(argv) > 1 else os.environ.get("LAMEFAIR_CORPUS_TIFF", Path(shared) / "tiff")
    )
    if not (corpus / IMAGES[0]).is_file():
        # Without the images the pictures would show an empty window: say so instead.
        print(
            f"error: the corpus TIFFs are not in {corpus}; pass the folder as the second argument "
            "or set LAMEFAIR_CORPUS (the shared corpus folder).",
            file=sys.stderr,
        )
        return 2
    out.mkdir(parents=True, exist_ok=True)
    home = tempfile.mkdtemp(prefix="lamefair-screens-")
    os.environ["LAMEFAIR_HOME"] = home
    try:
        return _render(out, corpus)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _render(out: Path, corpus: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from lamefair_desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.resize(1400, 820)
    window.show()
    try:
        return _render_in(app, window, out, corpus)
    finally:
        # Also after a failure: the window's engine process must stop, or exiting waits for it.
        window.close()
        window.shutdown()


def _render_in(app, window, out: Path, corpus: Path) -> int:
    import httpx

    from lamefair_desktop.nexus.mapping import default_registry
    from lamefair_desktop.ui.dialogs.entity_dialog import EntityDialog
    from lamefair_desktop.ui.dialogs.upload_dialog import UploadDialog, UploadRequest
    from lamefair_desktop.ui.panels.find_grid import hit_thumbnail
    from lamefair_desktop.ui.thumbnail_icons import remote_key

    synced: list[int] = []
    window.catalog_synced.connect(synced.append)
    if not _wait(app, 120, lambda: bool(synced)):
        print("the local catalog did not start", file=sys.stderr)
        return 1
    server = window.workspace.connection.local
    # A generous timeout: on a busy machine the embedded catalog's first writes take seconds.
    http = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=60
    )
    project = http.post("/api/projects", json={"name": "Oxide catalysts"}).json()
    proposal = http.post(
        "/api/proposals",
        json={"project": project["id"], "number": "2026-0042", "pi_name": "Dr. Ada Lovelace"},
    ).json()
    sample = http.post(
        "/api/samples",
        json={
            "proposal": proposal["id"],
            "name": "Fe3O4 nanoparticles",
            "identifier": "S-17",
            "preparation_date": "2026-10-30",
            "atom_types": ["Fe", "O"],
        },
    ).json()
    experiment = http.post(
        "/api/experiments",
        json={"sample": sample["id"], "name": "SEM overview", "start_time": "2026-11-20T09:30Z"},
    ).json()
    images = [corpus / name for name in IMAGES if (corpus / name).is_file()]
    notified: list[str] = []
    window.notified.connect(notified.append)
    if images:
        window.start_upload(
            UploadRequest(experiment["id"], tuple(images), "generic", "Ada", "grid 3", True)
        )
        _wait(app, 180, lambda: any("converted" in n for n in notified))
    synced.clear()
    window.sync_catalog()
    _wait(app, 30, lambda: bool(synced))
    window.tree_model.reload()
    _expand_all(app, window)

    shots: list[Path] = []

    def grab(widget, name: str) -> None:
        app.processEvents()
        target = out / name
        widget.grab().save(str(target))
        shots.append(target)

    window.tabs.setCurrentWidget(window.transfers)
    readme: list[str] = []
    window.details.readme_shown.connect(readme.append)
    if _select_first(window, "measurement"):  # the details pane shows it, with its README
        _wait(app, 30, lambda: bool(readme))
    grab(window, "main-transfers.png")

    window.browse(_node(proposal), "raw_bucket")
    _wait(app, 10, lambda: window.buckets.model.rowCount() > 0)
    for _ in range(6):  # walk down to the files
        entries = window.buckets.model.rows
        folders = [e for e in entries if e.is_folder]
        if not folders or any(not e.is_folder and e.name.endswith(".tif") for e in entries):
            break
        window.buckets.go(folders[0].key)
        _wait(app, 10, lambda: window.buckets.model.rowCount() > 0)
    grab(window, "buckets.png")
    browser = window.buckets
    browser.show_grid(True)  # the same folder as thumbnails (each TIFF's, from its NXem)
    proxy = browser.grid.proxy
    pictured = [r for r in range(proxy.rowCount()) if browser.model.rows[r].thumbnail]
    _wait(app, 30, lambda: all(proxy.has_thumbnail(r) for r in pictured))
    grab(window, "buckets-grid.png")
    browser.show_grid(False)

    _watch_rule(app, window, experiment, corpus / IMAGES[-1])
    grab(window, "watch.png")

    if images:
        loaded: list = []
        window.preview.loaded.connect(loaded.append)
        window.open_preview(str(images[-1]))
        _wait(app, 30, lambda: bool(loaded))
        info = window.preview.info
        if info is not None and info.pixel_x:
            rows, columns = info.frame_shape
            window.preview.show_value_at(columns * 0.4 * info.pixel_x, rows * 0.6 * info.pixel_y)
        grab(window, "preview.png")
        preview = window.preview
        preview.measure.profile_button.click()  # Fiji's tools: a profile, a rectangle
        preview.measure.rect_button.click()
        grab(window, "preview-measure.png")
        _ruler_and_export(app, window, out, shots.append)
        grab(window, "preview-ruler.png")
        fei = corpus / IMAGES[0]
        if fei.is_file():  # the FEI data bar, shown below the image on request
            loaded.clear()
            window.open_preview(str(fei))
            _wait(app, 30, lambda: bool(loaded))
            preview.data_bar.button.click()
            grab(window, "preview-databar.png")

    if images:  # the Find panel over what was just converted (values from the real files)
        panel = window.find_panel
        found: list[int] = []
        panel.searched.connect(found.append)
        window.find_files_action.trigger()
        panel.voltage_low.setText("1")
        panel.voltage_high.setText("30")
        panel.search()
        _wait(app, 30, lambda: bool(found))
        panel.table.resizeColumnsToContents()
        panel.table.selectRow(0)
        grab(window, "find-panel.png")
        panel.grid_button.click()  # the same results as thumbnails, fetched on a worker
        rows = [panel.model.index(row, 0) for row in range(panel.model.rowCount())]
        keys = [remote_key(*k) for k in map(hit_thumbnail, rows) if k]
        _wait(app, 20, lambda: all(panel.icons.known(key) for key in keys))
        grab(window, "find-grid.png")
        panel.grid_button.click()  # back to the table: the choice is remembered

    sample_dialog = EntityDialog(window.workspace.sync, "sample", parent_id=proposal["id"])
    sample_dialog.set_text("name", "Pt/CeO2 catalyst")
    sample_dialog.set_text("atom_types", "Pt, Ce, O, Xx")
    sample_dialog.show()
    grab(sample_dialog, "sample-dialog.png")
    sample_dialog.reject()

    if images:
        context = {"sample": sample, "experiment": experiment, "proposal": proposal}
        upload = UploadDialog(
            images,
            experiment_id=experiment["id"],
            experiment_name=experiment["name"],
            pairs=default_registry().pairs(),
            context=context,
            operator="Ada",
            timezone="Europe/Berlin",
        )
        upload.show()
        _wait(app, 30, lambda: upload.inspection is not None and upload.table.rowCount() > 0)
        rows = range(upload.table.rowCount())
        _wait(app, 30, lambda: all(upload.thumbnail_shown(r) for r in rows))  # rendered locally
        _wait(app, 1, lambda: False)
        grab(upload, "upload-dialog.png")
        upload.reject()

    measurement = window.selected_node()  # selected for the first picture
    if measurement is not None and measurement.kind == "measurement":
        share = window.share_node(measurement)
        share.note.setText("for Dr. Chen's review")
        share.create_link()
        _wait(app, 30, lambda: bool(share.link.text()) and share.table.rowCount() > 0)
        grab(share, "share-link.png")
        share.reject()
        export = window.export_node(measurement)  # Export for publication…, before Export
        export.licence.setCurrentText("CC-BY-4.0")
        grab(export, "export-dialog.png")
        export.reject()

    # Settings with a napari path that is not a program: the message it gets on Save.
    settings = window.open_settings()
    settings.napari.setText("/opt/napari")
    settings.accept()
    grab(settings, "settings-dialog.png")
    settings.reject()

    # The same window on a dark palette (what follow_colour_scheme sets when the system
    # switches and the platform does not repaint Qt's widgets itself).
    from PySide6.QtCore import Qt

    from lamefair_desktop.ui.look import apply_colour_scheme

    window.browse(_node(proposal), "raw_bucket")
    apply_colour_scheme(Qt.ColorScheme.Dark)
    _wait(app, 1, lambda: False)
    grab(window, "main-dark.png")
    apply_colour_scheme(Qt.ColorScheme.Light)

    for path in shots:
        print(path)
    http.close()
    return 0


def _watch_rule(app, window, experiment: dict, image: Path) -> None:
    """A watch folder sending files to the experiment, and one image caught in it."""
    import uuid

    from lamefair_desktop.watch.rules import WatchRule

    folder = Path(os.environ["LAMEFAIR_HOME"]) / "microscope-export"
    folder.mkdir(exist_ok=True)
    window.watch.names[experiment["id"]] = experiment["name"]
    rule = WatchRule(
        str(uuid.uuid4()),
        window.workspace.catalog_key,
        str(folder),
        experiment_id=experiment["id"],
        operator="Ada",
        include=("*.tif",),
        quiet_seconds=1.0,
    )
    loaded: list[int] = []
    window.watch.rules_loaded.connect(loaded.append)
    window.watch.add_rule(rule)
    window.tabs.setCurrentWidget(window.watch)
    _wait(app, 10, lambda: bool(loaded))
    _wait(app, 2, lambda: False)  # the engines pick the rule up
    lines: list[str] = []
    window.watch.logged.connect(lines.append)
    shutil.copy(image, folder / "overview-0001.tif")
    _wait(app, 60, lambda: any("queued" in line for line in lines))
    _wait(app, 5, lambda: False)  # its upload and conversion run meanwhile


def _ruler_and_export(app, window, out: Path, record) -> None:
    """A distance measured across the image, and the view exported with its scale bar."""
    preview = window.preview
    preview.measure.rect_button.click()  # put away: the ruler's picture shows the ruler
    preview.ruler.button.click()
    info = preview.info
    if info is None:
        return
    rows, columns = info.frame_shape
    pitch_x, pitch_y = preview._pitch()
    preview.ruler.set_ends(
        (0.25 * columns * pitch_x, 0.3 * rows * pitch_y),
        (0.7 * columns * pitch_x, 0.45 * rows * pitch_y),
    )
    written: list[str] = []
    preview.export.exported.connect(written.append)
    preview.export.export_to(out / "exported-view.png")
    _wait(app, 30, lambda: bool(written))
    if written:
        record(Path(written[0]))


def _select_first(window, kind: str) -> bool:
    """Select the first entry of this kind in the (expanded) tree."""
    from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE

    model, stack = (
        window.tree_filter,
        [window.tree_filter.index(r, 0) for r in range(window.tree_filter.rowCount())],
    )
    while stack:
        index = stack.pop(0)
        if not index.isValid():
            continue
        if index.data(NODE_ROLE).kind == kind:
            window.catalog_view.setCurrentIndex(index)
            return True
        stack += [model.index(r, 0, index) for r in range(model.rowCount(index))]
    return False


def _node(proposal: dict):
    """A stand-in for the proposal's tree node: `browse` reads only its data."""
    from lamefair_desktop.catalog.tree import TreeNode

    return TreeNode("proposal", proposal["id"], proposal["number"], data=proposal)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
