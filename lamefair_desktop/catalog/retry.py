"""The one retry policy of every HTTP request the desktop repeats: catalog API calls, S3 PUTs of
uploads and S3 GETs of downloads (tenacity underneath).

- Exponential backoff with jitter, so that many clients cut off together do not come back in
  lockstep; capped at `max_backoff`.
- The caller decides what is worth another try by raising `RetryLater` (network errors, 5xx:
  wait first) or `RetryNow` (an expired URL was replaced, a 401 after a token refresh, a part
  read again: no reason to wait). Anything else ends the call at once.
- A wait is `cancel.wait(...)`: Cancel, or closing the client, ends it at once instead of after
  the backoff (the hand-written loops slept up to 10 s through a Cancel).
- When attempts run out, the last `RetryLater`/`RetryNow` is raised; its `cause` says why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

T = TypeVar("T")


class RetryNow(Exception):
    """Try again without waiting (something was renewed: a URL, a token, the bytes)."""

    def __init__(self, reason: str, cause: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


class RetryLater(RetryNow):
    """Try again after the backoff (the network or the server failed: give it time)."""


class EitherEvent:
    """Set when any of its events is (a run's Cancel, or one file's Pause or Cancel).

    `threading.Event` cannot wait on several events; a wait here wakes within `SLICE` seconds of
    any of them being set, which is at once for a person pressing a button."""

    SLICE = 0.05

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.events[0].wait(min(self.SLICE, left))
        return True


CancelEvent = threading.Event | EitherEvent


class Cancelled(Exception):
    """The cancel event was set before another attempt."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # in all, the first one included
    backoff: float = 0.5  # the first wait, in seconds; doubled each time, plus jitter
    max_backoff: float = 20.0

    def run(
        self,
        call: Callable[[], T],
        *,
        cancel: CancelEvent | None = None,
        on_retry: Callable[[RetryNow], None] | None = None,
    ) -> T:
        """`call()` until it returns, raises something else, or the attempts are used up.

        Raises `Cancelled` when `cancel` is set before an attempt (including during a wait)."""
        cancel = cancel or threading.Event()
        backoff = wait_exponential_jitter(
            multiplier=self.backoff, max=self.max_backoff, exp_base=2, jitter=self.backoff
        )

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return 0.0 if type(error) is RetryNow else backoff(state)

        def before_sleep(state: RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None:
                on_retry(state.outcome.exception())

        def attempt() -> T:
            if cancel.is_set():
                raise Cancelled
            return call()

        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.attempts)),
            wait=wait,
            retry=retry_if_exception_type(RetryNow),
            sleep=cancel.wait,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(attempt)
