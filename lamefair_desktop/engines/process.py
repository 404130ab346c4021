"""The desktop's background engines (engines.py) in a child process of their own (no Qt).

Why a process: uploads, hashing, conversions and folder scans are Python threads. In the window's
interpreter they made the UI thread wait for the GIL for up to 0.4 s during a watch-folder burst;
in a child process they cannot. The engines already share nothing with the window but the durable
queues in the local database (SQLite, WAL) and plain dataclasses, so the split is cheap:

- the window sends small command dataclasses down a pipe (`Kick`, `Control`, `SignedIn`, ...);
- the child sends the engines' events back on a queue, exactly the dataclasses engines.py emits;
- the child stops cleanly on `Stop`, on SIGTERM, and when the window's end of the pipe closes
  (the window crashed): whatever is unfinished stays queued for the next start.

The child is started with the "spawn" method everywhere (forking a process that runs Qt threads
is unsafe) and runs at a lower priority, so the microscope's own software and the window come
first. Frozen builds support it through `multiprocessing.freeze_support()` in the entry point.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

from lamefair_desktop.catalog.auth import AuthError, Tokens
from lamefair_desktop.catalog.client import CatalogClient, TokenSource
from lamefair_desktop.engines.messages import (
    Control,
    EngineReady,
    EngineStopped,
    Kick,
    RulesChanged,
    SelectExperiment,
    SignedIn,
    Stop,
)
from lamefair_desktop.home.settings import Settings

log = logging.getLogger(__name__)

BACKGROUND_NICE = 10


@dataclass(frozen=True)
class EngineTarget:
    """What the child needs to reach the same catalog as the window, as plain values."""

    server_url: str
    database: str  # the local database file (queues, ledger)
    token: str | None  # a fixed token (the local catalog, LAMEFAIR_TOKEN); None: OIDC session
    oidc: bool
    settings: Settings
    attempts: int = 6
    backoff: float = 0.5
    catalog_id: str | None = None  # what the window's rows are filed under (catalog/identity.py)

    @classmethod
    def of(cls, workspace) -> EngineTarget:
        client = workspace.client
        oidc = workspace.connection.session is not None
        return cls(
            server_url=client.base_url,
            database=str(workspace.sessions.kw["bind"].url.database),
            token=None if oidc else client.token.get(),
            oidc=oidc,
            settings=workspace.settings,
            attempts=client.attempts,
            backoff=client.backoff,
            catalog_id=client.catalog_id,
        )

    def client(self) -> tuple[CatalogClient, object | None]:
        """The catalog client of the child, and its OIDC session if it signs in that way."""
        session = None
        if self.oidc:
            session = _LazySession(self.server_url, self.settings)
            token: TokenSource | str | None = TokenSource(
                get=session.access_token, refresh=session.refresh
            )
        else:
            token = self.token
        client = CatalogClient(
            self.server_url,
            token,
            attempts=self.attempts,
            backoff=self.backoff,
            ca_bundle=self.settings.ca_bundle,
            catalog_id=self.catalog_id,
        )
        return client, session


class _LazySession:
    """The OIDC session, made on first use: the child may start while the identity provider is
    out of reach, and must still sign its requests once it is back."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.url, self.settings = url, settings
        self._session = None
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if self._session is None:
                from lamefair_desktop.catalog.connection import oidc_session

                with contextlib.suppress(AuthError):
                    self._session = oidc_session(self.url, self.settings)
            return self._session

    def access_token(self) -> str | None:
        session = self.get()
        return session.access_token() if session else None

    def refresh(self) -> bool:
        session = self.get()
        return session.refresh() if session else False

    def remember(self, tokens: Tokens) -> None:
        """Start from the window's access token rather than renewing at once. With a keyring this
        stores the same refresh token the window stored; without one (or if it failed in the
        window) this memory is the only place the child finds them."""
        session = self.get()
        if session is not None:
            session.store.save(tokens)


def _lower_priority() -> None:
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(BACKGROUND_NICE)


def _log_to_file() -> None:
    from lamefair_desktop.home.log_files import log_to_file

    log_to_file("engines.log")  # rotated: this process may run for months
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is too much


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so a blocking recv() ends (PEP 475)."""


def _terminate(*_args) -> None:
    raise _Terminated


def serve(target: EngineTarget, commands, events) -> None:
    """The child's main: run the engines until told to stop or the window is gone."""
    from lamefair_desktop.engines.engines import Engines
    from lamefair_desktop.home.local_db import open_local_db
    from lamefair_desktop.transfer.derived import derived_dir
    from lamefair_desktop.transfer.upload import UploadSettings

    _lower_priority()
    _log_to_file()
    # Ctrl+C in the window's terminal reaches the whole process group: the window decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminate)  # a logout or `kill`: stop at a clean point
    client, session = target.client()
    engines = Engines(
        client,
        open_local_db(Path(target.database)),
        events.put,
        upload_settings=UploadSettings(
            part_concurrency=target.settings.part_concurrency,
            file_concurrency=target.settings.file_concurrency,
        ),
        derived_dir=derived_dir(target.settings),
        settings=target.settings,
    )
    engines.start()
    events.put(EngineReady(os.getpid()))
    log.info("engines started for %s (pid %d)", target.server_url, os.getpid())
    while True:
        try:
            command = commands.recv()
        except (EOFError, OSError, _Terminated):  # the window is gone, or SIGTERM
            break
        if isinstance(command, Stop):
            break
        try:
            _dispatch(engines, session, command)
        except Exception:  # noqa: BLE001 - a bad command must not end the engines
            log.exception("command %r failed", command)
        except _Terminated:
            break
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # already stopping
    engines.stop()
    client.close()
    log.info("engines stopped (pid %d)", os.getpid())
    events.put(EngineStopped(os.getpid()))
    events.close()
    events.join_thread()


def _dispatch(engines, session: _LazySession | None, command) -> None:
    if isinstance(command, Kick):
        engines.kick()
    elif isinstance(command, Control):
        getattr(engines, command.action)(list(command.file_ids))
    elif isinstance(command, SignedIn):
        if command.tokens is not None and session is not None:
            session.remember(command.tokens)
        engines.signed_in()
    elif isinstance(command, RulesChanged):
        engines.rules_changed()
    elif isinstance(command, SelectExperiment):
        engines.selected_experiment_id = command.experiment_id


class EngineProcess:
    """The window's handle on the child: start it, send it commands, read its events."""

    def __init__(self, target: EngineTarget) -> None:
        self.target = target
        self.process: multiprocessing.Process | None = None
        self._commands = None
        self._events = None
        self._send_lock = threading.Lock()

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._commands, child_end = context.Pipe()
        self._events = context.Queue()
        self.process = context.Process(
            target=serve,
            args=(self.target, child_end, self._events),
            name="lamefair-engines",
        )
        self.process.start()
        child_end.close()  # ours closed: the child sees EOF when this process ends

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    @property
    def exitcode(self) -> int | None:
        return self.process.exitcode if self.process else None

    def send(self, command) -> bool:
        """False when the child is gone (its queues keep everything for the next start)."""
        if self._commands is None:
            return False
        with self._send_lock:
            try:
                self._commands.send(command)
            except (BrokenPipeError, OSError, ValueError):
                return False
        return True

    def next_event(self, timeout: float):
        """The child's next event, or None after `timeout` seconds of silence."""
        try:
            return self._events.get(timeout=timeout)
        except (queue.Empty, OSError, ValueError, EOFError):
            return None

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the child to stop at a clean point; end it if it does not within `timeout`."""
        if self.process is None:
            return
        self.send(Stop())
        self.process.join(timeout)
        if self.process.is_alive():
            log.warning("the engines did not stop within %.0f s: terminating them", timeout)
            self.process.terminate()
            self.process.join(10)
        if self._commands is not None:
            self._commands.close()
        # Events still queued are dropped: the durable queues hold the truth.
        self._events.cancel_join_thread()
        self._events.close()
