"""`convert` and `inspect` take folders and patterns themselves (Windows shells do not expand
`*.tif`), never let two inputs write one output, and `inspect` reads like the window does."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import tifffile

LAMEFAIR = str(Path(sys.executable).parent / "lamefair")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LAMEFAIR, *args], capture_output=True, text=True, timeout=300)


def _image(path: Path, width: int = 300, height: int = 200, nm_per_pixel: float = 2.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.arange(width * height, dtype=np.uint16).reshape(height, width)
    per_unit = 1 / nm_per_pixel
    tifffile.imwrite(
        path, pixels, imagej=True, resolution=(per_unit, per_unit), metadata={"unit": "nm"}
    )
    return path


def test_two_inputs_with_one_name_are_refused_before_anything_is_written(tmp_path):
    first = _image(tmp_path / "grid1" / "img.tif")
    second = _image(tmp_path / "grid2" / "img.tif")
    out = tmp_path / "out"
    result = run("convert", str(first), str(second), "--out-dir", str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert str(first) in result.stderr
    assert str(second) in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_folders_and_patterns_are_expanded_here(tmp_path):
    session = tmp_path / "session"
    _image(session / "overview.tif")
    _image(session / "grid1" / "img.tif")
    _image(session / "grid2" / "img.tif")
    (session / "notes.txt").write_text("beam current drifted")
    out = tmp_path / "out"
    folder = run("convert", str(session), "--out-dir", str(out))
    assert folder.returncode == 0, folder.stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.nxs"))
    assert written == ["grid1/img.nxs", "grid2/img.nxs", "overview.nxs"]

    pattern = run("convert", str(session / "*.tif"), "--out-dir", str(tmp_path / "top"))
    assert pattern.returncode == 0, pattern.stderr
    assert sorted(p.name for p in (tmp_path / "top").iterdir()) == ["overview.nxs"]

    nothing = run("convert", str(session / "*.tiff"), "--out-dir", str(tmp_path / "none"))
    assert nothing.returncode == 2
    assert "no file matches" in nothing.stderr
    assert "Traceback" not in nothing.stderr


def test_inspect_says_width_by_height_in_readable_units(tmp_path):
    source = _image(tmp_path / "wide.tif", width=300, height=200, nm_per_pixel=2.0)
    shutil.copy(source, tmp_path / "copy.tif")
    result = run("inspect", str(tmp_path / "wide.tif"))
    assert result.returncode == 0, result.stderr
    first_line = result.stdout.splitlines()[0]
    assert "300 × 200 px" in first_line
    assert "pixel 2 nm" in first_line
    assert "field 600 nm × 400 nm" in first_line

    both = run("inspect", str(tmp_path / "*.tif"))
    assert both.returncode == 0, both.stderr
    assert both.stdout.count("300 × 200 px") == 2
