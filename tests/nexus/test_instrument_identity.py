"""A file converted without an instrument pair names only what it states; a chosen pair adds the
site's microscope; a pair made for other files is warned about; the NXem says which mapping
wrote it and why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from lamefair_desktop.nexus.validate import fairmat_validate
from lamefair_desktop.nexus.writer import convert

TVIPS = "TVIPS_bin4.tif"
FABRICATION = "entry1/measurement/instrument/fabrication"
LAMEFAIR = str(Path(sys.executable).parent / "lamefair")


def _mapping_note(path: Path) -> tuple[str, dict]:
    with h5py.File(path) as handle:
        note = handle["entry1/conversion_mapping"]
        return note["description"][()].decode(), json.loads(note["data"][()])


def test_a_camera_file_without_a_pair_names_no_microscope(corpus_tiff_dir, context, tmp_path):
    out = tmp_path / "detected.nxs"
    result = convert(corpus_tiff_dir / TVIPS, out, context=context)
    data = out.read_bytes().lower()
    assert b"jeol" not in data
    assert b"f200" not in data
    with h5py.File(out) as handle:
        assert handle["entry1/measurement/instrument/detector1/fabrication/vendor"][()] == b"TVIPS"
        assert handle["entry1/measurement/instrument/detector1/fabrication/model"][()] == b"F416"
        assert b"unknown" in handle[f"{FABRICATION}/vendor"][()]
    assert any("choose an instrument pair" in item for item in result.lacking)
    description, note = _mapping_note(out)
    assert (note["mapping"], note["origin"], note["kind"]) == (
        "TVIPS",
        "detected",
        "flavour mapping",
    )
    assert "tvips" in description
    assert note["warnings"] == []
    report = fairmat_validate(out)
    assert report.valid, report.report[-2000:]


def test_a_chosen_pair_adds_the_sites_microscope(corpus_tiff_dir, context, tmp_path):
    out = tmp_path / "paired.nxs"
    result = convert(corpus_tiff_dir / TVIPS, out, pair="TEM_JEOL_F200_TVIPS", context=context)
    assert result.warnings == ()
    with h5py.File(out) as handle:
        assert handle[f"{FABRICATION}/vendor"][()] == b"JEOL"
        assert handle[f"{FABRICATION}/model"][()] == b"JEM-F200"
        assert "entry1/measurement/event1/instrument/stage/rotation" in handle
    _description, note = _mapping_note(out)
    assert (note["mapping"], note["origin"], note["extends"]) == (
        "TEM_JEOL_F200_TVIPS",
        "chosen",
        "TVIPS",
    )
    report = fairmat_validate(out)
    assert report.valid, report.report[-2000:]


def test_a_pair_made_for_other_files_is_warned_about_in_the_cli_and_the_file(
    corpus_tiff_dir, tmp_path
):
    out = tmp_path / "misfit.nxs"
    run = subprocess.run(
        [LAMEFAIR, "convert", str(corpus_tiff_dir / TVIPS), "-o", str(out), "--pair", "SEM_FEI"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "warning" in run.stderr
    assert "SEM_FEI" in run.stderr
    assert "tvips" in run.stderr
    description, note = _mapping_note(out)
    assert "WARNING" in description
    assert "tvips" in description
    assert note["origin"] == "chosen"
    assert len(note["warnings"]) == 1


def test_the_upload_dialog_flags_a_pair_made_for_other_files(qtbot, corpus_tiff_dir, context):
    from lamefair_desktop.nexus.mapping import default_registry
    from lamefair_desktop.ui.dialogs.upload_dialog import COLUMNS, UploadDialog

    dialog = UploadDialog(
        [corpus_tiff_dir / TVIPS],
        experiment_id="e1",
        experiment_name="TEM session 1",
        pairs=default_registry().pairs(),
        context=context,
        remembered_pair="SEM_FEI",
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.inspected, timeout=30_000):
        pass
    cell = dialog.table.item(0, COLUMNS.index("Mapping"))
    assert "SEM_FEI" in cell.text()
    assert "not for tvips" in cell.text()
    assert "tvips" in cell.toolTip()
    assert "not made for 1 image" in dialog.summary.text()


@pytest.mark.parametrize("pair", [None, "TEM_JEOL_F200_TVIPS"])
def test_detection_never_proposes_a_sites_pair(corpus_tiff_dir, context, pair):
    from lamefair_desktop.ui.dialogs.upload_dialog import inspect_inputs

    look = inspect_inputs([corpus_tiff_dir / TVIPS], pair or "generic", context).files[0]
    assert look.pair == (pair or "TVIPS")
    assert look.warnings == ()


def test_the_cli_uses_this_computers_default_pair_and_zone(corpus_tiff_dir, tmp_path):
    """On the microscope PC the instrument pair and the clock's zone are set once (settings):
    `lamefair convert` without --pair/--timezone uses them and the NXem says so; --pair wins."""
    from lamefair_desktop.home.settings import Settings

    Settings(default_pair="TEM_JEOL_F200_TVIPS", default_timezone="Asia/Tokyo").save()
    camera, scanned = tmp_path / "camera.nxs", tmp_path / "scanned.nxs"
    for source, out, pair in (
        (TVIPS, camera, []),
        ("FEI-Helios-Ebeam-16bits.tif", scanned, ["--pair", "SEM_FEI"]),  # the zone still applies
    ):
        run = subprocess.run(
            [LAMEFAIR, "convert", str(corpus_tiff_dir / source), "-o", str(out), *pair],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
    with h5py.File(camera) as handle:
        assert handle[f"{FABRICATION}/vendor"][()] == b"JEOL"
    description, note = _mapping_note(camera)
    assert (note["mapping"], note["origin"]) == ("TEM_JEOL_F200_TVIPS", "computer default")
    assert "this computer" in description
    with h5py.File(scanned) as handle:
        start = handle["entry1/measurement/event1/start_time"][()].decode()
        zone = json.loads(handle["entry1/local_time/data"][()])["times"]["event.start_time"]
    assert start.endswith("+09:00"), start
    assert zone["zone_reason"] == "this computer's default time zone (lamefair settings)"
    chosen = tmp_path / "chosen.nxs"
    run = subprocess.run(
        [LAMEFAIR, "convert", str(corpus_tiff_dir / TVIPS), "-o", str(chosen), "--pair", "TVIPS"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert _mapping_note(chosen)[1]["origin"] == "chosen"


def test_an_unknown_default_pair_is_named_as_the_setting_it_is(corpus_tiff_dir, tmp_path):
    from lamefair_desktop.home.settings import Settings

    Settings(default_pair="NOPE").save()
    run = subprocess.run(
        [LAMEFAIR, "convert", str(corpus_tiff_dir / TVIPS), "-o", str(tmp_path / "x.nxs")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "settings.json: default_pair: Unknown instrument pair 'NOPE'" in run.stderr
    assert not (tmp_path / "x.nxs").exists()
