"""`/api/health` that answers within seconds even when the database or storage hangs.

A dependency that stops answering (SeaweedFS or PostgreSQL stopped, a network that drops packets)
used to hang the health route with it, and every caller after it took another worker thread until
none were left for any route. Here each check runs on a thread of its own, both at once, and the
route waits for them at most `DEADLINE` seconds: what has not answered by then is reported as not
answering. A check still running is never started a second time (a hung dependency holds one
thread, not one per request), and an answer is reused for `FRESH_FOR` seconds so frequent polling
costs the dependencies little. A check that misses the deadline also calls `on_silence` (the
dependency's breaker trips), so requests that need it are refused at once from then on.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

DEADLINE = 3.0  # the desktop gives a local server's health 5 s; answer well before that
FRESH_FOR = 2.0


class Probe:
    """One dependency check (returns "ok" or a message for people), at most one in flight."""

    def __init__(
        self, name: str, check: Callable[[], str], on_silence: Callable[[], None] | None = None
    ) -> None:
        self.name = name
        self._check = check
        self.on_silence = on_silence
        self._lock = threading.Lock()
        self._running: Future[str] | None = None
        self._last: tuple[float, str] | None = None

    def start(self) -> Future[str]:
        """The answer to wait for: a fresh cached one, the check in flight, or a new check."""
        with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < FRESH_FOR:
                done: Future[str] = Future()
                done.set_result(self._last[1])
                return done
            if self._running is None:
                self._running = Future()
                threading.Thread(
                    target=self._run, args=(self._running,), name=f"health-{self.name}", daemon=True
                ).start()
            return self._running

    def _run(self, future: Future[str]) -> None:
        try:
            result = self._check()
        except Exception as exc:  # a probe must report, never raise
            result = f"check failed ({type(exc).__name__})"
        with self._lock:
            self._last = (time.monotonic(), result)
            self._running = None
        future.set_result(result)


async def check_all(probes: list[Probe], deadline: float = DEADLINE) -> dict[str, str]:
    """Every probe's answer, or "not answering within N s" for those still running at the
    deadline. Waits on the event loop, so no worker thread is held while a dependency hangs."""
    futures = {probe.name: asyncio.wrap_future(probe.start()) for probe in probes}
    await asyncio.wait(futures.values(), timeout=deadline)
    for probe in probes:
        if not futures[probe.name].done() and probe.on_silence is not None:
            probe.on_silence()
    return {
        name: future.result() if future.done() else f"not answering within {deadline:.0f} s"
        for name, future in futures.items()
    }
