"""One command as a user runs it: wall time, CPU (user + system, from wait4) and peak RSS.

Peak RSS is VmHWM polled from /proc: ru_maxrss of a child starts from the forking parent's size.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    seconds: float
    cpu: float  # the child's user + system seconds
    peak: int  # the child's VmHWM, bytes


def measured(command: list[str], env: dict) -> Measured:
    """Run `command` to its end (RuntimeError with its stderr's tail if it fails)."""
    # Output to a file, not a pipe: a chatty command would block on a full pipe while we poll.
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=errors, stdin=subprocess.DEVNULL
        )
        status = Path(f"/proc/{process.pid}/status")
        peak = 0
        while True:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
            except (OSError, ValueError):
                pass
            pid, code, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(code)
        errors.seek(0)
        err = errors.read()
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({process.returncode}): {err.decode()[-800:]}")
    return Measured(seconds, usage.ru_utime + usage.ru_stime, peak)
