"""The Watch tab on the real local stack: a rule made in the dialog uploads what lands in its folder
(and converts the TIFFs), the live log says so, and a rule that follows the selection sends files
to whichever experiment is selected."""

from __future__ import annotations

import re
import shutil

import httpx
from PySide6.QtCore import QModelIndex


def _experiments(window) -> dict[str, str]:
    server = window.workspace.connection.local
    http = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=60
    )  # creating a proposal makes its buckets while the window starts: seconds on 2 cores
    project = http.post("/api/projects", json={"name": "Watch lab"}).json()
    proposal = http.post("/api/proposals", json={"project": project["id"], "number": "9"}).json()
    sample = http.post(
        "/api/samples",
        json={
            "proposal": proposal["id"],
            "name": "lamella",
            "preparation_date": "2026-11-01",
            "atom_types": ["Si"],
        },
    ).json()
    ids = {}
    for name in ("morning", "afternoon"):
        ids[name] = http.post(
            "/api/experiments",
            json={"sample": sample["id"], "name": name, "start_time": "2026-11-24T08:00Z"},
        ).json()["id"]
    http.close()
    return ids


def _select_experiment(qtbot, window, name: str) -> None:
    model, view = window.tree_filter, window.catalog_view
    index = QModelIndex()
    for expected in ("Watch lab", "9", "lamella", name):
        parent = index

        def find(parent=parent, expected=expected) -> bool:
            if model.canFetchMore(parent):
                model.fetchMore(parent)
            return any(
                str(model.index(r, 0, parent).data()).split(" (")[0] == expected
                for r in range(model.rowCount(parent))
            )

        qtbot.waitUntil(find, timeout=30_000)
        row = next(
            r
            for r in range(model.rowCount(parent))
            if str(model.index(r, 0, parent).data()).split(" (")[0] == expected
        )
        index = model.index(row, 0, parent)
        view.expand(index)
    view.setCurrentIndex(index)


def test_watch_folders_from_the_panel(qtbot, window, tmp_path, corpus_tiff_dir):
    ids = _experiments(window)
    with qtbot.waitSignal(window.catalog_synced, timeout=30_000):
        window.sync_action.trigger()
    _select_experiment(qtbot, window, "morning")

    fixed_folder = tmp_path / "microscope-out"
    fixed_folder.mkdir()
    dialog = window.add_watch_folder()
    assert dialog.fixed.isChecked()  # the selected experiment, by default
    assert dialog.pair.currentData() == "generic"  # detect; it was the list's first pair
    dialog.folder.setText(str(fixed_folder))
    dialog.quiet.setValue(0.5)
    with qtbot.waitSignal(window.watch.rules_loaded, timeout=30_000) as loaded:
        dialog.accept()
    assert loaded.args[0] == 1
    assert window.watch.table.item(0, 1).text() == "morning"

    shutil.copy(corpus_tiff_dir / "test_loading_image_saved_with_DM.tif", fixed_folder / "dm.tif")
    (fixed_folder / "notes.txt").write_text("spot 3")
    model = window.transfers.model
    qtbot.waitUntil(
        lambda: (
            sorted(r.path for r in model.rows if r.state == "stored") == ["dm.tif", "notes.txt"]
        ),
        timeout=60_000,
    )
    qtbot.waitUntil(
        lambda: any(r.derived is not None and r.derived.state == "stored" for r in model.rows),
        timeout=60_000,
    )
    # The tree shows the captured measurement without F5, and keeps the experiment selected.
    qtbot.waitUntil(
        lambda: str(window.catalog_view.currentIndex().data()).startswith("morning (1)"),
        timeout=30_000,
    )
    log = window.watch.log.toPlainText()
    assert f"Watching {fixed_folder}" in log
    # The two files may settle in the same scan or in two; either way each is queued once.
    queued = re.findall(r"(\d+) file\(s\) queued: (.*)", log)
    assert sum(int(count) for count, _ in queued) == 2
    assert sorted(name for _, names in queued for name in names.split(", ")) == [
        "dm.tif",
        "notes.txt",
    ]

    # A second rule follows the selection: files go to whichever experiment is selected.
    follow_folder = tmp_path / "follow"
    follow_folder.mkdir()
    _select_experiment(qtbot, window, "afternoon")
    dialog = window.add_watch_folder()
    dialog.follow.setChecked(True)
    dialog.folder.setText(str(follow_folder))
    dialog.quiet.setValue(0.5)
    dialog.convert.setChecked(False)
    with qtbot.waitSignal(window.watch.rules_loaded, timeout=30_000):
        dialog.accept()
    assert window.watch.table.item(1, 1).text() == "the selected experiment"
    (follow_folder / "eds.msa").write_text("#FORMAT: EMSA/MAS spectral data file")
    qtbot.waitUntil(
        lambda: any(r.path == "eds.msa" and r.state == "stored" for r in model.rows),
        timeout=60_000,
    )
    server = window.workspace.connection.local
    measurements = httpx.get(
        f"{server.url}/api/measurements",
        params={"experiment": ids["afternoon"]},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    ).json()
    assert [f["path"] for m in measurements for f in m["files"]] == ["eds.msa"]
