"""Refuse at once what a stopped dependency cannot answer, instead of holding a thread per request.

Routes are sync, so FastAPI runs each on one of 40 worker threads. While storage is stopped an S3
call holds its thread until its timeouts run out (tens of seconds); forty uploads at once used to
take every thread and freeze every route, even those that never touch storage. A `Breaker` stands
in front of a dependency's calls:

- closed: calls go through, at most `max_in_flight` at a time. A caller that finds every slot
  taken waits at most `slot_wait` seconds; if none frees by then the dependency is not answering
  (a healthy S3 call takes milliseconds) and the breaker opens. This bounds the threads a hung
  dependency can hold before the first timeout has even happened.
- open: for `cool_down` seconds every call is refused with the dependency's own error (HTTP 503).
  It opens when a call fails with a connection or timeout error, when no slot frees in time, or
  when the health probe says the dependency is not answering (`trip()`).
- half-open: after the cool-down one call is let through; while it runs, others are still
  refused. An answer closes the breaker; another outage error opens it again.

Any answer closes it, an error answer too (S3 said "NoSuchKey": storage is there). Only failures
that `is_outage` recognises open it, so a refused request or a bug never locks users out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Breaker:
    def __init__(
        self,
        *,
        cool_down: float,
        is_outage: Callable[[BaseException], bool],
        refusal: Callable[[], Exception],
        max_in_flight: int | None = None,
        slot_wait: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cool_down = cool_down
        self._is_outage = is_outage
        self._refusal = refusal
        self._max_in_flight = max_in_flight
        self._slot_wait = slot_wait
        self._clock = clock
        self._changed = threading.Condition()
        self._open_until: float | None = None
        self._trial_running = False
        self._in_flight = 0

    @property
    def is_open(self) -> bool:
        with self._changed:
            return self._open_until is not None

    def trip(self) -> None:
        """Open (again) for a full cool-down: the dependency is not answering."""
        with self._changed:
            self._open_until = self._clock() + self.cool_down
            self._changed.notify_all()  # callers waiting for a slot: refuse them now

    def learn(self, exc: BaseException) -> None:
        """A call made outside `call()` (the health probe) failed: trip if it was an outage."""
        if self._is_outage(exc):
            self.trip()

    def answered(self) -> None:
        with self._changed:
            self._open_until = None
            self._changed.notify_all()

    @contextmanager
    def call(self) -> Iterator[None]:
        """Around one call to the dependency: refuses, or lets it run and learns from how it ends."""
        trial = self._admit()
        try:
            yield
        except Exception as exc:
            if self._is_outage(exc):
                self.trip()
            else:
                self.answered()
            raise
        else:
            self.answered()
        finally:
            with self._changed:
                self._in_flight -= 1
                if trial:
                    self._trial_running = False
                self._changed.notify_all()

    def _admit(self) -> bool:
        """Take a slot, or raise the refusal. True when this call is the half-open trial."""
        with self._changed:
            deadline = self._clock() + self._slot_wait
            while True:
                trial = False
                if self._open_until is not None:
                    if self._clock() < self._open_until or self._trial_running:
                        raise self._refusal()
                    trial = True
                if self._max_in_flight is None or self._in_flight < self._max_in_flight:
                    break
                left = deadline - self._clock()
                if left <= 0:
                    # Every slot held for the whole wait: the calls in them are not being answered.
                    self._open_until = self._clock() + self.cool_down
                    self._changed.notify_all()
                    raise self._refusal()
                self._changed.wait(left)
            self._in_flight += 1
            if trial:
                self._trial_running = True
            return trial
