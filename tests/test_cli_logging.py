"""What libraries complain about reaches the operator as one readable line naming the file, and
the log file keeps it; nothing raw (logging's last resort, a `UserWarning:` dump) on stderr."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import tifffile

LAMEFAIR = str(Path(sys.executable).parent / "lamefair")
ODD_TAG = 65000


def _tiff_with_a_broken_tag(path: Path) -> Path:
    """A readable image whose private tag points past the end of the file: tifffile skips the
    tag and says so through its logger."""
    tifffile.imwrite(
        path, np.zeros((8, 8), np.uint8), extratags=[(ODD_TAG, "s", 0, "x" * 99, True)]
    )
    data = bytearray(path.read_bytes())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for index in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * index
        if struct.unpack_from("<H", data, entry)[0] == ODD_TAG:
            struct.pack_into("<I", data, entry + 8, 10_000_000)
    path.write_bytes(data)
    return path


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAMEFAIR_HOME": str(home)}
    return subprocess.run([LAMEFAIR, *args], capture_output=True, text=True, timeout=120, env=env)


def test_a_tifffile_complaint_is_one_line_naming_the_file(tmp_path, lamefair_home):
    source = _tiff_with_a_broken_tag(tmp_path / "odd tags.tif")
    result = _run("convert", str(source), "-o", str(tmp_path / "odd.nxs"), home=lamefair_home)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines == [
        "warning: odd tags.tif: tifffile: <TiffTag.fromfile> raised TiffFileError("
        f"'<tifffile.TiffTag {ODD_TAG} @178> invalid value offset 10000000')"
    ]
    log = (lamefair_home / "logs" / "cli.log").read_text(encoding="utf-8")
    assert "ERROR tifffile <TiffTag.fromfile> raised TiffFileError" in log


def test_verbose_is_accepted_before_and_after_the_command(tmp_path, lamefair_home):
    source = _tiff_with_a_broken_tag(tmp_path / "odd.tif")
    for args in (("-v", "inspect", str(source)), ("inspect", "-vv", str(source))):
        result = _run(*args, home=lamefair_home)
        assert result.returncode == 0, result.stderr
        assert "warning: odd.tif: tifffile:" in result.stderr


def test_python_warnings_are_one_line_too(lamefair_home):
    """A library's `warnings.warn` in a command, as the CLI configures logging."""
    code = (
        "import warnings\n"
        "from lamefair_desktop.cli import console_log\n"
        "console_log.configure(0)\n"
        "with console_log.working_on('/data/a.tif'):\n"
        "    warnings.warn('the scale is not square', UserWarning)\n"
    )
    env = {**os.environ, "LAMEFAIR_HOME": str(lamefair_home)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.stderr.splitlines() == [
        "warning: a.tif: <string>: the scale is not square (UserWarning)"
    ]
