"""The verdict on a converted file: the FAIRmat validator's own boolean, which check spoke, and exit
codes a script can trust (5: NOT valid; 6: the validator is not installed, structure only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from lamefair_desktop.nexus.validate import fairmat_installed, fairmat_validate
from lamefair_desktop.nexus.writer import convert
from tests.support.components import unavailable

LAMEFAIR = str(Path(sys.executable).parent / "lamefair")


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LAMEFAIR, *args], capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def validator() -> None:
    if not fairmat_installed():
        unavailable("FAIRmat validator", "pynxtools (test extra) is not installed")


def test_convert_validate_exits_5_when_not_valid_and_0_when_valid(
    corpus_tiff_dir, context, tmp_path, validator
):
    source = str(corpus_tiff_dir / "TVIPS_bin4.tif")
    meta = tmp_path / "context.json"
    meta.write_text(json.dumps(context))
    good = run(
        "convert", source, "--out-dir", str(tmp_path / "good"), "--meta", str(meta), "--validate"
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert "valid NXem (FAIRmat validator)" in good.stdout
    # Without the catalog context the sample is missing: the file is written, and NOT valid.
    bare = run("convert", source, "--out-dir", str(tmp_path / "bare"), "--validate")
    assert bare.returncode == 5, bare.stdout + bare.stderr
    assert "NOT valid NXem (FAIRmat validator)" in bare.stdout
    assert "atom_types" in bare.stdout  # the validator's own problems, as the report


def test_a_required_field_deleted_afterwards_is_not_valid(
    corpus_tiff_dir, context, tmp_path, validator
):
    out = tmp_path / "edited.nxs"
    convert(corpus_tiff_dir / "TVIPS_bin4.tif", out, context=context)
    with h5py.File(out, "r+") as handle:
        del handle["entry1/sample/preparation_date"]
    report = fairmat_validate(out)
    assert (report.valid, report.validator) == (False, "pynxtools")
    assert "/entry1/sample/preparation_date" in report.report


def test_without_the_validator_convert_says_so_and_exits_6(corpus_tiff_dir, context, tmp_path):
    # A real missing-module condition: this pynxtools cannot be imported, as on a PC without it.
    shim = tmp_path / "shim" / "pynxtools"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('No module named pynxtools')\n")
    env = {**os.environ, "PYTHONPATH": str(shim.parent)}
    meta = tmp_path / "context.json"
    meta.write_text(json.dumps(context))
    source = str(corpus_tiff_dir / "TVIPS_bin4.tif")
    result = run(
        "convert", source, "--out-dir", str(tmp_path), "--meta", str(meta), "--validate", env=env
    )
    assert result.returncode == 6, result.stdout + result.stderr
    assert "FAIRmat validator (pynxtools) is not installed" in result.stderr
    assert "valid NXem (structural check only)" in result.stdout
    assert (tmp_path / "TVIPS_bin4.nxs").is_file()
