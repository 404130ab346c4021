"""The main window's connection to the catalog and the engines: open the workspace off the UI
thread, start the engines' process, sync the catalog (push the outbox, pull the change feed),
sign in, and tell the person (status bar, desktop notification).

A part of MainWindow (ui/main_window.py): it uses the window's jobs, labels and panels.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QSystemTrayIcon

from lamefair_desktop.catalog.client import CatalogError, SignInRequired
from lamefair_desktop.engines.process import EngineTarget
from lamefair_desktop.engines.workspace import Identity, Workspace
from lamefair_desktop.transfer.states import UploadState
from lamefair_desktop.workers.engine_worker import EngineWorker


@dataclass(frozen=True)
class SyncResult:
    changes: int
    problem: str  # empty when the catalog answered
    identity: Identity
    sign_in: bool = False  # the catalog answered, but wants a sign-in first


class WindowConnection:
    def connect_workspace(self, open_workspace: Callable[[], Workspace]) -> None:
        """Connect (starting the local catalog if no server is configured) off the UI thread."""
        self.server_label.setText("Connecting to the catalog…")
        opened = self._opened

        def work() -> Workspace:
            workspace = open_workspace()
            # Known here at once, so a quit before the answer arrives still closes it (and
            # stops the local catalog it may have started). list.append is atomic.
            opened.append(workspace)
            return workspace

        self._run(
            work,
            self._on_workspace,
            lambda message, _d: self._on_workspace_failed(message),
        )

    def _on_workspace(self, workspace: Workspace) -> None:
        self.workspace = workspace
        where = "Local catalog" if workspace.is_local else "Catalog"
        self.server_label.setText(f"{where}: {workspace.server_url}")
        self.tree_model.reload(workspace.sync.cache)
        self.buckets.attach(workspace.client, workspace.settings)
        self.details.attach(workspace.client, workspace.settings)
        self._start_engines(workspace)
        self._update_actions()
        self.workspace_ready.emit(workspace)
        self.sync_catalog()

    def _on_workspace_failed(self, message: str) -> None:
        self.server_label.setText("No catalog")
        self.statusBar().showMessage(
            f"Could not reach the catalog: {message} Local files still open in the preview "
            "(File > Open); check Settings and restart.",
        )

    def _start_engines(self, workspace: Workspace) -> None:
        """Start the engines' process, which resumes whatever the durable queues hold (they
        survive restarts), and show the queues."""
        engines = self.engines = EngineWorker(EngineTarget.of(workspace), self)
        engines.measurement_progress.connect(self._measurement_progress)
        engines.measurement_converted.connect(self._measurement_converted)
        engines.uploads_idle.connect(self._update_queue_label)
        engines.failed.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        engines.watch_event.connect(self.watch.append)
        self.transfers.changed.connect(self._update_queue_label)
        self.transfers.attach(engines, workspace.uploads, workspace.derived)
        self.watch.rules_changed.connect(engines.rules_changed)
        self.watch.attach(workspace.watch_store, workspace.catalog_key)
        node = self.selected_node()
        if node is not None and node.kind == "experiment":
            engines.select_experiment(node.id)
        engines.start()

    def sync_catalog(self) -> None:
        """Send the outbox, pull the change feed, refresh who we are; offline, keep the cache."""
        workspace = self.workspace
        if workspace is None:
            return

        def work() -> SyncResult:
            identity = workspace.identity()
            try:
                workspace.sync.push()
                return SyncResult(workspace.sync.pull(), "", identity)
            except SignInRequired as exc:
                return SyncResult(0, str(exc), identity, sign_in=True)
            except CatalogError as exc:
                return SyncResult(0, str(exc), identity)

        self._run(work, self._on_synced)

    def _on_synced(self, result: SyncResult) -> None:
        self.online = not result.problem or result.sign_in
        self.identity = result.identity
        self.online_label.setText("● online" if self.online else "○ offline")
        self.user_label.setText(self.identity.label)
        if result.sign_in:
            self.statusBar().showMessage(
                "Sign in (Account > Sign in, Ctrl+L) to see and change the catalog; the cached "
                "catalog is shown meanwhile."
            )
        elif result.problem:
            self.statusBar().showMessage(
                f"Working offline, showing the cached catalog: {result.problem}"
            )
        if result.changes:
            self.tree_model.refresh()  # in place: open branches and the selection stay
            # The feed may carry the catalog's FAIRmat verdicts for the NXem column.
            if self.workspace is not None:
                self.transfers.reload(self.workspace.uploads)
        self.catalog_synced.emit(result.changes)

    def notify(self, text: str) -> None:
        """A desktop notification where the system has a tray, the status bar always."""
        if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
            self.tray.show()
            self.tray.showMessage("lamefair", text)
        self.statusBar().showMessage(text, 15_000)
        self.notified.emit(text)

    def sign_in(self) -> None:
        workspace = self.workspace
        if workspace is None or workspace.connection.session is None:
            self.statusBar().showMessage("The local catalog needs no sign-in.", 5000)
            return
        session = workspace.connection.session
        self.statusBar().showMessage("Finish signing in in your browser…")

        def work() -> tuple[int, object]:
            tokens = session.login(webbrowser.open)
            waiting = workspace.uploads.items((UploadState.SIGNIN,))
            resumed = sum(item.server == workspace.catalog_key for item in waiting)
            # Handed to the engines' process too: the keyring shares only the refresh token
            # (where there is a keyring at all), so the child starts from this access token.
            return resumed, tokens

        def done(result: tuple[int, object]) -> None:
            resumed, tokens = result
            kept = "" if session.store.persistent else f" Note: {session.store.problem}."
            self.statusBar().showMessage(
                f"Signed in; {resumed} upload(s) that waited for it resume.{kept}", 15_000
            )
            self.engines.signed_in(tokens)
            self.sync_catalog()

        self._run(work, done)
