"""A TIFF whose header claims absurd dimensions: a clear refusal, not an HDF5 error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import tifffile

LAMEFAIR = str(Path(sys.executable).parent / "lamefair")
HUGE = 2**31 - 1


def test_convert_refuses_a_header_claiming_more_pixels_than_the_file_holds(tmp_path):
    # A real two-frame stack of 4 x 4 pixels, whose headers then claim 2^31-1 x 2^31-1 pixels.
    crafted = tmp_path / "crafted.tif"
    tifffile.imwrite(crafted, np.zeros((2, 4, 4), np.uint16), photometric="minisblack")
    with tifffile.TiffFile(crafted, mode="r+") as tif:
        for page in tif.pages:
            page.tags["ImageWidth"].overwrite(HUGE)
            page.tags["ImageLength"].overwrite(HUGE)
    size = crafted.stat().st_size
    out_dir = tmp_path / "out"

    result = subprocess.run(
        [LAMEFAIR, "convert", str(crafted), "--out-dir", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    error = result.stderr.splitlines()[-1]
    assert error.startswith("error: crafted.tif:"), result.stderr
    assert f"{HUGE} x {HUGE} pixels" in error
    assert f"only {size} bytes" in error
    assert "unexpected" not in result.stderr
    assert not out_dir.exists() or not any(out_dir.iterdir())  # not even a .partial file
