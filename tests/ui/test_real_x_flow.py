"""One user's session in a real X server: Xvfb started here, the window on Qt's xcb platform (the
rest of the suite runs offscreen, and a process picks its Qt platform once), driven by
tests/ui/x_session.py in a pytest of its own on the embedded local stack. What X shows at the end
is grabbed from the X server's root window and checked to be the window, not a black screen.

Xvfb comes from packaging/test-deps.sh (Debian package xvfb); without it this fails under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.support import components

ROOT = Path(__file__).resolve().parents[2]
SCREEN = (1600, 1000)


@pytest.fixture
def x_display(tmp_path):
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        components.unavailable("Xvfb", "not installed (packaging/test-deps.sh installs xvfb)")
    read, write = os.pipe()
    # -displayfd: Xvfb picks a free display itself and writes its number once it accepts clients.
    server = subprocess.Popen(
        [
            xvfb,
            "-displayfd",
            str(write),
            "-screen",
            "0",
            f"{SCREEN[0]}x{SCREEN[1]}x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "xvfb.log", "wb"),  # noqa: SIM115 - lives as long as the server
    )
    os.close(write)
    with os.fdopen(read) as answer:
        number = answer.readline().strip()
    if not number:
        server.kill()
        pytest.fail(f"Xvfb did not start: {(tmp_path / 'xvfb.log').read_text()}")
    yield f":{number}"
    server.terminate()
    server.wait(10)


def test_create_upload_convert_browse_profile_export_in_a_real_x_server(x_display, tmp_path):
    shot = tmp_path / "x-screen.png"
    env = {
        **os.environ,
        "DISPLAY": x_display,
        "QT_QPA_PLATFORM": "xcb",
        "LAMEFAIR_X_SCREENSHOT": str(shot),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/ui/x_session.py",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path / "session"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout
    image = QImage(str(shot))
    assert (image.width(), image.height()) == SCREEN
    # The window, as X drew it: many colours (a black or empty screen has one or two).
    colours = {image.pixel(x, y) for x in range(0, SCREEN[0], 8) for y in range(0, SCREEN[1], 8)}
    assert len(colours) > 50, len(colours)
    if os.environ.get("LAMEFAIR_X_SCREENSHOT_KEEP"):  # to look at it: a path to copy it to
        shutil.copy(shot, os.environ["LAMEFAIR_X_SCREENSHOT_KEEP"])
