"""NXem conversion against its floor (tifffile read + h5py write of the same array), with memory.

Cases: one 4096x4096 uint16 image and a 200-frame 2048x2048 uint16 stack (1.6 GB). Each
measurement runs in a fresh process; memory is the peak of Python and numpy allocations during the
work (tracemalloc; HDF5's own small C buffers are not counted), plus the process's max RSS.
The page cache is warm for both sides (the file was just written), which favours the floor.
Then lamefair's `convert` command against pynxtools-em's `dataconverter` (bench/em_compare.py).
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

from bench import em_compare
from bench.report import figure, ratio

MiB = 1024 * 1024


def _worker(mode: str, source: str, output: str) -> None:
    import tracemalloc

    import h5py

    from lamefair_desktop.nexus.writer import convert

    tracemalloc.start()
    started = time.perf_counter()
    if mode == "floor":
        data = tifffile.imread(source)
        with h5py.File(output, "w") as handle:
            handle.create_dataset("data", data=data)
    elif mode == "ours":
        context = {
            "sample": {
                "name": "bench",
                "preparation_date": "2026-01-01",
                "atom_types": ["Si"],
                "is_simulation": False,
            },
            "experiment": {"name": "bench", "start_time": "2026-01-01T00:00:00Z"},
        }
        convert(source, output, context=context)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak": peak, "rss": rss}))


def _measure(mode: str, source: Path, output: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bench.nexus_bench", mode, str(source), str(output)],
        capture_output=True,
        text=True,
        check=True,
    )
    output.unlink(missing_ok=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _case(label: str, source: Path, frame_bytes: int, repeat: int) -> None:
    output = source.with_suffix(".nxs")
    floor = [_measure("floor", source, output) for _ in range(repeat)]
    ours = [_measure("ours", source, output) for _ in range(repeat)]
    floor_s = statistics.median(r["seconds"] for r in floor)
    ours_s = statistics.median(r["seconds"] for r in ours)
    figure(f"{label}: floor (tifffile read + h5py write)", floor_s, "s")
    figure(f"{label}: lamefair convert (SHA-256, metadata, NXem)", ours_s, "s")
    ratio(f"{label}: ours / floor (target <= 1.3)", ours_s, floor_s)
    floor_mem = max(r["peak"] for r in floor)
    ours_mem = max(r["peak"] for r in ours)
    figure(f"{label}: floor peak allocations", floor_mem / MiB, "MiB")
    figure(f"{label}: our peak allocations", ours_mem / MiB, "MiB")
    figure(f"{label}: our peak in frames (target < 4 for stacks)", ours_mem / frame_bytes, "frames")
    figure(f"{label}: our process max RSS", max(r["rss"] for r in ours) / MiB, "MiB")


def run(quick: bool = False) -> None:
    frames = 20 if quick else 200
    repeat = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        image = folder / "image.tif"
        rng = np.random.default_rng(0)
        tifffile.imwrite(image, rng.integers(0, 65535, (4096, 4096), dtype=np.uint16))
        _case("4096x4096 uint16", image, 4096 * 4096 * 2, repeat)
        stack = folder / "stack.tif"
        frame = rng.integers(0, 65535, (2048, 2048), dtype=np.uint16)
        with tifffile.TiffWriter(stack, bigtiff=True) as writer:
            for index in range(frames):
                writer.write(frame + index, contiguous=True)
        _case(f"{frames}x2048x2048 uint16 stack", stack, 2048 * 2048 * 2, repeat)
        em_compare.run(folder, quick=quick)


if __name__ == "__main__":
    _worker(*sys.argv[1:4])
