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
from collections.abc import Awaitable, Callable
from concurrent.futures import Future

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from lamefair_catalog import __version__
from lamefair_catalog.breaker import Breaker
from lamefair_catalog.database.identity import CatalogIdentityReader
from lamefair_catalog.schemas.service import AuthConfig, HealthOut
from lamefair_catalog.settings import Settings
from lamefair_catalog.storage.gateway import Storage

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


def auth_config(settings: Settings) -> AuthConfig:
    """How clients sign in here: the embedded token, or the identity provider to ask."""
    return AuthConfig(
        mode="embedded" if settings.embedded else "oidc",
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        scopes=settings.oidc_scopes,
        audience=settings.oidc_audience,
    )


def health_check(
    settings: Settings,
    engine: Engine,
    identity: CatalogIdentityReader,
    database: Breaker,
    storage: Storage,
) -> Callable[[], Awaitable[HealthOut]]:
    """The `/api/health` answer: both dependencies probed at once, within `DEADLINE`."""

    def database_check() -> str:
        try:
            with engine.connect() as connection:
                connection.execute(text("select 1"))
            identity.get()  # read here, on the probe's thread: the route itself never waits on SQL
        except (OperationalError, PoolTimeout) as exc:
            database.learn(exc)
            return "unreachable"
        database.answered()
        return "ok"

    # A probe still running at the deadline means the dependency is not answering: refuse the
    # requests that need it at once instead of letting each one find out the slow way.
    probes = [
        Probe("database", database_check, on_silence=database.trip),
        Probe("storage", storage.ping, on_silence=storage.breaker.trip),
    ]

    async def health() -> HealthOut:
        states = await check_all(probes)
        return HealthOut(
            status="ok" if states["database"] == states["storage"] == "ok" else "degraded",
            version=__version__,
            catalog_id=identity.known,
            database=states["database"],
            storage=states["storage"],
            auth=auth_config(settings),
        )

    return health
