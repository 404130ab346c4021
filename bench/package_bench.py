"""The frozen build (`make package`): its size, and the time from process start to the main window,
cold (page cache dropped, where we may) and warm, next to the same from the source install.

Start to main window is timed from outside: `lamefair --self-test` prints "main window shown" once
Qt has shown the window (offscreen); the process is stopped there. Target: under 3 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import figure, ratio

ROOT = Path(__file__).resolve().parent.parent
FROZEN = ROOT / "dist" / "lamefair" / ("lamefair.exe" if sys.platform == "win32" else "lamefair")
SOURCE = Path(sys.executable).parent / "lamefair"
MARKER = "main window shown"


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files), len(files)


def _drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def _time_to_window(executable: Path) -> float:
    home = tempfile.mkdtemp(prefix="lamefair-start-")
    env = {
        "HOME": home,
        "PATH": "/usr/bin:/bin",
        "LAMEFAIR_HOME": home,
        "QT_QPA_PLATFORM": "offscreen",
        "QT_LOGGING_RULES": "qt.qpa.*=false",
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(executable), "--self-test"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=home,
    )
    try:
        for line in process.stdout:
            if line.strip() == MARKER:
                return time.perf_counter() - started
        raise RuntimeError(f"{executable} never showed its window")
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(home, ignore_errors=True)


def run(quick: bool = False) -> None:
    if not FROZEN.is_file():
        print(f"   no frozen build at {FROZEN}: run `make package` first")
        return
    size, count = _size(FROZEN.parent)
    figure("frozen build size", size / 1024**2, "MiB", f"({count} files)")
    weed = next(FROZEN.parent.rglob("weed*"), None)
    if weed is not None:
        figure("  of which SeaweedFS (weed)", weed.stat().st_size / 1024**2, "MiB")
    cold = _drop_caches()
    first = _time_to_window(FROZEN)
    figure(
        f"frozen: start to main window, {'cold' if cold else 'first run'}",
        first,
        "s",
        "(target < 3 s)",
    )
    runs = 2 if quick else 5
    warm = sorted(_time_to_window(FROZEN) for _ in range(runs))
    figure("frozen: start to main window, warm (median)", warm[len(warm) // 2], "s")
    if SOURCE.is_file():
        source = sorted(_time_to_window(SOURCE) for _ in range(runs))
        figure("source install: start to main window, warm (median)", source[len(source) // 2], "s")
        ratio("frozen / source, warm", warm[len(warm) // 2], source[len(source) // 2])
