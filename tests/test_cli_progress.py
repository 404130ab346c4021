"""Transfer progress in the commands: on a terminal a row per file in flight with speed and time
left, rows of files in flight side by side; piped, plain lines a script can read."""

from __future__ import annotations

import io
import re

from rich.console import Console

from lamefair_desktop.cli.progress import TransferProgress

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MB = 1_000_000


def _two_uploads(console: Console) -> None:
    clock = [0.0]
    with TransferProgress(console, get_time=lambda: clock[0]) as progress:
        for step in range(1, 6):
            clock[0] = step * 0.5
            progress.progress("acq/a.tif", step * MB, 10 * MB, "uploading")
            progress.progress("acq/b.tif", step * MB // 2, 10 * MB, "uploading")
            if progress.live:
                progress._bars.refresh()  # what its timer does on a terminal, without waiting
        progress.progress("acq/a.tif", 10 * MB, 10 * MB, "stored")
        progress.progress("acq/b.tif", 3 * MB, 10 * MB, "failed", "storage refused")


def test_a_terminal_shows_a_row_per_file_with_speed_and_time_left():
    out = io.StringIO()
    _two_uploads(Console(file=out, force_terminal=True, width=120, color_system=None))
    text = out.getvalue()
    lines = [ESCAPE.sub("", part) for part in re.split(r"[\r\n]", text)]
    rows_a = [line for line in lines if line.startswith("acq/a.tif ")]
    rows_b = [line for line in lines if line.startswith("acq/b.tif ")]
    assert rows_a
    assert rows_b
    assert any(re.search(r"5\.0/10\.0 MB +2\.0 MB/s 0:00:03 uploading$", r) for r in rows_a)
    assert any(re.search(r"2\.5/10\.0 MB +1\.0 MB/s 0:00:0\d uploading$", r) for r in rows_b)
    # Never one file's row written over the other's.
    assert not [line for line in lines if "a.tif" in line and "b.tif" in line]
    assert "stored: acq/a.tif" in lines
    assert "failed: acq/b.tif storage refused" in lines
    assert text.endswith("\x1b[?25h\r") or "\x1b[?25h" in text[-20:]  # the cursor comes back


def test_piped_output_is_one_plain_line_per_change_of_state():
    out = io.StringIO()
    _two_uploads(Console(file=out, width=80))
    assert out.getvalue().splitlines() == [
        "uploading: acq/a.tif",
        "uploading: acq/b.tif",
        "stored: acq/a.tif",
        "failed: acq/b.tif storage refused",
    ]


def test_a_long_path_is_one_line_when_piped():
    out = io.StringIO()
    with TransferProgress(Console(file=out, width=40)) as progress:
        progress.progress("a/" * 40 + "[x] image.tif", 1, 1, "stored")
    assert out.getvalue() == "stored: " + "a/" * 40 + "[x] image.tif\n"
