"""UI heartbeat: the worst stall of the UI thread while the real window uploads 1 GiB and
converts a stack, while a watch folder takes a burst of 1,000 files, and while the bucket browser
downloads the 1 GiB file (target: never more than 100 ms). Uploads, conversions and watch folders
run in the engines' own process, as in the app; downloads run in the window's process.

The window runs offscreen on the local stack (embedded catalog + SeaweedFS) in a temporary
LAMEFAIR_HOME. A 10 ms QTimer ticks on the UI thread; a stall is how much later than due a tick
arrives. The same timer is first measured on an idle window, side by side, as the baseline.
Each stall over 50 ms is printed with the CPU time the UI thread itself used meanwhile
(`time.thread_time`): near the stall's length, the UI thread was working; near zero, it was
waiting (for a core on a loaded machine, or for the GIL another thread held).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.report import figure, ratio

MiB = 1024 * 1024
TICK_MS = 10


class Heartbeat:
    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        # (seconds since start, stall ms, UI-thread CPU ms meanwhile) for stalls over 50 ms
        self.late: list[tuple[float, float, float]] = []
        self._last = self._start = time.perf_counter()
        self._cpu = time.thread_time()
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        stall = (now - self._last) * 1000 - TICK_MS
        self.gaps.append(stall)
        if stall > 50:
            self.late.append((now - self._start, stall, (cpu - self._cpu) * 1000))
        self._last, self._cpu = now, cpu

    def start(self) -> None:
        self.gaps, self.late = [], []
        self._last = self._start = time.perf_counter()
        self._cpu = time.thread_time()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return [max(0.0, g) for g in self.gaps]


def _wait(app, seconds: float, until=lambda: False) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until():
        app.processEvents()
        time.sleep(0.002)


def _write_stack(path: Path, frames: int, size: int) -> None:
    import tifffile

    rng = np.random.default_rng(1)
    frame = rng.integers(0, 4000, (size, size), dtype=np.uint16)
    with tifffile.TiffWriter(path) as tif:
        for index in range(frames):
            tif.write(np.roll(frame, index, axis=0), contiguous=True)


def _write_random(path: Path, size: int) -> None:
    block = os.urandom(16 * MiB)
    with path.open("wb") as handle:
        for _ in range(size // len(block)):
            handle.write(block)


def _summary(label: str, stalls: list[float]) -> float:
    worst = max(stalls) if stalls else 0.0
    p99 = statistics.quantiles(stalls, n=100)[98] if len(stalls) > 100 else worst
    figure(f"{label}: worst stall", worst, "ms", f"({len(stalls)} ticks)")
    figure(f"{label}: 99th percentile", p99, "ms")
    figure(f"{label}: ticks later than 100 ms", sum(s > 100 for s in stalls), "")
    return worst


def _watch_burst(app, window, experiment_id: str, home: Path, count: int) -> float:
    """A watch folder receives a burst of small files while the heartbeat ticks."""
    import threading
    import uuid

    from lamefair_desktop.watch.rules import WatchRule

    folder = home / "burst"
    folder.mkdir()
    workspace = window.workspace
    rule = WatchRule(
        str(uuid.uuid4()),
        workspace.catalog_key,  # the engines watch the rules filed under it, never the URL
        str(folder),
        experiment_id,
        quiet_seconds=1.0,
        convert=False,
    )
    window.watch.add_rule(rule)

    def write() -> None:
        for index in range(count):
            (folder / f"frame_{index:04d}.dat").write_bytes(os.urandom(4096))

    beat = Heartbeat()
    beat.start()
    started = time.perf_counter()
    threading.Thread(target=write).start()

    def stored():
        return sum(
            1
            for r in window.transfers.model.rows
            if r.state == "stored" and r.path.startswith("frame_")
        )

    _wait(app, 600, lambda: stored() >= count)
    stalls = beat.stop()
    figure(
        f"watch burst: {count} files written, taken, stored",
        time.perf_counter() - started,
        "s",
        f"({stored()} stored)",
    )
    return _summary(f"watch burst of {count} files", stalls)


def _download(app, window, http, experiment_id: str, home: Path) -> float:
    """A PI downloads the big file through the bucket browser while the heartbeat ticks."""
    measurements = http.get("/api/measurements", params={"experiment": experiment_id}).json()
    big = max((f for m in measurements for f in m["files"]), key=lambda f: f["size"])
    prefix, name = big["key"].rsplit("/", 1)
    browser = window.buckets
    window.tabs.setCurrentWidget(browser)
    _wait(app, 60, lambda: browser.select_bucket(big["bucket"]))
    browser.go(prefix + "/")
    _wait(app, 60, lambda: browser.select_name(name))
    done: list = []
    browser.downloaded.connect(done.append)
    target = home / "downloads"
    target.mkdir()
    beat = Heartbeat()
    beat.start()
    started = time.perf_counter()
    browser.download_selected(str(target))
    _wait(app, 600, lambda: bool(done))
    stalls = beat.stop()
    seconds = time.perf_counter() - started
    figure(f"download of {big['size'] / MiB:.0f} MiB (SHA-256 checked)", seconds, "s")
    return _summary("download through the bucket browser", stalls)


def run(quick: bool = False) -> None:
    home = Path(tempfile.mkdtemp(prefix="lamefair-ui-bench-"))
    try:
        _run(home, quick)
    finally:
        shutil.rmtree(home, ignore_errors=True)  # gigabytes of test data and a local S3 store


def _run(home: Path, quick: bool) -> None:
    os.environ["LAMEFAIR_HOME"] = str(home)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import httpx
    from PySide6.QtWidgets import QApplication

    from lamefair_desktop.ui.app import favour_the_ui_thread
    from lamefair_desktop.ui.dialogs.upload_dialog import UploadRequest
    from lamefair_desktop.ui.main_window import MainWindow

    big_size = (128 if quick else 1024) * MiB
    frames, side = (20, 1024) if quick else (50, 2048)
    big, stack = home / "beam.raw", home / "stack.tif"
    _write_random(big, big_size)
    _write_stack(stack, frames, side)
    figure("upload", big_size / MiB, "MiB")
    figure("stack to convert", stack.stat().st_size / MiB, "MiB", f"({frames} x {side}^2 uint16)")

    favour_the_ui_thread()  # as `lamefair gui` does
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow()
    window.show()
    ready: list = []
    window.catalog_synced.connect(ready.append)
    _wait(app, 120, lambda: bool(ready))
    # The idle baseline starts once the engines' process has started (its imports take a core).
    _wait(app, 120, lambda: window.engines is not None and window.engines.ready_pid is not None)
    server = window.workspace.connection.local
    http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"})
    project = http.post("/api/projects", json={"name": "UI bench"}).json()
    proposal = http.post("/api/proposals", json={"project": project["id"], "number": "1"}).json()
    sample = http.post(
        "/api/samples",
        json={
            "proposal": proposal["id"],
            "name": "s",
            "preparation_date": "2026-01-01",
            "atom_types": ["Si"],
        },
    ).json()
    experiment = http.post(
        "/api/experiments",
        json={"sample": sample["id"], "name": "e", "start_time": "2026-01-01T00:00:00Z"},
    ).json()

    beat = Heartbeat()
    beat.start()
    _wait(app, 3)
    idle = _summary("idle window", beat.stop())

    done: list[str] = []
    window.notified.connect(done.append)
    events: list[tuple[float, str]] = []
    window.upload_registered.connect(lambda _m: events.append((time.perf_counter(), "registered")))
    window.engines.file_progress.connect(
        lambda p: p.state == "stored" and events.append((time.perf_counter(), f"stored {p.path}"))
    )
    window.engines.job_changed.connect(
        lambda j: events.append((time.perf_counter(), f"{j.state} {j.rel_path}"))
    )
    beat.start()
    started = time.perf_counter()
    # The stack goes first (its own measurement), so its conversion overlaps the 1 GiB upload.
    window.start_upload(UploadRequest(experiment["id"], (stack,), "generic", "bench", "", True))
    window.start_upload(UploadRequest(experiment["id"], (big,), "generic", "bench", "", True))
    _wait(
        app,
        1800,
        lambda: any("converted" in t for t in done) and any("uploaded" in t for t in done),
    )
    busy = _summary("1 GiB upload + stack conversion", beat.stop())
    for at, stall, cpu in beat.late:
        print(f"   stall of {stall:.0f} ms at {at:.1f} s (UI thread's CPU meanwhile: {cpu:.0f} ms)")
    figure("upload + conversion took", time.perf_counter() - started, "s", done[-1] if done else "")
    ratio("worst stall: busy / idle", busy, max(idle, 1.0), "(target: busy worst < 100 ms)")
    burst = _watch_burst(app, window, experiment["id"], home, 200 if quick else 1000)
    ratio("worst stall: watch burst / idle", burst, max(idle, 1.0), "(target: < 100 ms)")
    download = _download(app, window, http, experiment["id"], home)
    ratio("worst stall: download / idle", download, max(idle, 1.0), "(target: < 100 ms)")
    window.close()
    window.shutdown()
    http.close()


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
