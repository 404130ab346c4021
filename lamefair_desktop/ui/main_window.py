"""The main window: catalog tree on the left; preview, transfers and buckets on the right; the
status bar says which server, who, online or not, and what the queue holds.

Everything that touches the disk or the network runs in a Job (workers/job.py); uploads,
conversions and watch folders run in a process of their own (workers/engine_worker.py). This
class only wires signals, opens dialogs and keeps both alive.
"""

from __future__ import annotations

import logging
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QSystemTrayIcon,
    QTabWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from lamefair_desktop import __version__
from lamefair_desktop.catalog.client import CatalogError, SignInRequired
from lamefair_desktop.catalog.sync import Node
from lamefair_desktop.catalog.tree import CHILD_KIND, LoadState, TreeNode
from lamefair_desktop.engines.process import EngineTarget
from lamefair_desktop.engines.workspace import Identity, Workspace
from lamefair_desktop.home.settings import Settings, SettingsError
from lamefair_desktop.nexus.mapping import default_registry
from lamefair_desktop.transfer.derived import MeasurementConverted
from lamefair_desktop.transfer.intake import Intake, Measurement
from lamefair_desktop.transfer.progress import MeasurementProgress
from lamefair_desktop.transfer.states import UploadState
from lamefair_desktop.transfer.upload_context import UploadContext, remember_pair, upload_context
from lamefair_desktop.ui.dialogs.about_dialog import AboutDialog
from lamefair_desktop.ui.dialogs.entity_dialog import EntityDialog
from lamefair_desktop.ui.dialogs.settings_dialog import SettingsDialog
from lamefair_desktop.ui.dialogs.upload_dialog import UploadDialog, UploadRequest
from lamefair_desktop.ui.models.catalog_filter_model import CatalogFilterModel
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE, CatalogTreeModel
from lamefair_desktop.ui.panels.bucket_browser import BucketBrowser
from lamefair_desktop.ui.panels.preview_panel import PreviewPanel
from lamefair_desktop.ui.panels.transfers_panel import TransfersPanel
from lamefair_desktop.ui.panels.watch_panel import WatchPanel, WatchRuleDialog
from lamefair_desktop.workers.engine_worker import EngineWorker
from lamefair_desktop.workers.job import Job, JobGroup
from lamefair_desktop.workers.pools import all_pools, registration_pool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncResult:
    changes: int
    problem: str  # empty when the catalog answered
    identity: Identity
    sign_in: bool = False  # the catalog answered, but wants a sign-in first


OPEN_FILTER = "Microscope images (*.tif *.tiff *.nxs *.h5 *.hdf5 *.nx5);;All files (*)"
KIND_LABEL = {
    "project": "project",
    "proposal": "proposal",
    "sample": "sample",
    "experiment": "experiment",
}


class MainWindow(QMainWindow):
    workspace_ready = Signal(object)  # Workspace
    catalog_synced = Signal(int)  # changes received
    upload_dialog_opened = Signal(object)  # UploadDialog (tests drive it)
    upload_registered = Signal(object)  # the measurement as the catalog registered it
    notified = Signal(str)  # a desktop notification's text

    def __init__(
        self,
        *,
        open_workspace: Callable[[], Workspace] | None = Workspace.open,
    ) -> None:
        super().__init__()
        self.setWindowTitle(f"lamefair {__version__}")
        self.resize(1280, 800)
        self.setAcceptDrops(False)
        self.workspace: Workspace | None = None
        self._opened: list[Workspace] = []  # filled on the worker that opens it
        self.identity = Identity("", (), False)
        self.online = False
        self._jobs = JobGroup(lambda message: self.statusBar().showMessage(message, 15_000))
        self._converting: set[str] = set()  # measurements whose TIFFs are converted
        self.tree_model = CatalogTreeModel()
        self.tree_filter = CatalogFilterModel()
        self.tree_filter.setSourceModel(self.tree_model)
        self.tree_model.files_dropped.connect(self.files_dropped)
        self.tree_model.children_loaded.connect(self._children_loaded)
        self.catalog_view = QTreeView()
        self.catalog_view.setHeaderHidden(True)
        self.catalog_view.setUniformRowHeights(True)  # instant with thousands of experiments
        self.catalog_view.setModel(self.tree_filter)
        self.catalog_view.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.catalog_view.setAcceptDrops(True)
        self.catalog_view.setDropIndicatorShown(True)
        self.catalog_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.catalog_view.customContextMenuRequested.connect(self._context_menu)
        self.catalog_view.selectionModel().currentChanged.connect(
            lambda *_: self._selection_changed()
        )
        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText("Filter: name, identifier, atom type, date")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.textChanged.connect(self.tree_filter.set_text)
        catalog_pane = QWidget()
        catalog_layout = QVBoxLayout(catalog_pane)
        catalog_layout.setContentsMargins(0, 0, 0, 0)
        catalog_layout.addWidget(self.filter_box)
        catalog_layout.addWidget(self.catalog_view, 1)
        self.preview = PreviewPanel()
        self.transfers = TransfersPanel()
        self.transfers.files_dropped.connect(self._dropped_on_transfers)
        self.transfers.problem.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        self.buckets = BucketBrowser()
        self.buckets.preview_requested.connect(self.open_preview)
        self.buckets.problem.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.buckets.link_copied.connect(
            lambda _url: self.statusBar().showMessage("Presigned link copied (valid 1 hour).", 5000)
        )
        self.engines: EngineWorker | None = None
        self.watch = WatchPanel()
        self.watch.add_button.clicked.connect(self.add_watch_folder)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.transfers, "Transfers")
        self.tabs.addTab(self.watch, "Watch")
        self.tabs.addTab(self.buckets, "Buckets")
        self.tabs.addTab(self.preview, "Preview")
        self.tabs.currentChanged.connect(self._tab_changed)
        splitter = QSplitter()
        splitter.addWidget(catalog_pane)
        splitter.addWidget(self.tabs)
        splitter.setSizes([340, 940])
        self.setCentralWidget(splitter)
        self.server_label = QLabel("Connecting…")
        self.user_label = QLabel()
        self.online_label = QLabel()
        self.queue_label = QLabel()
        for label in (self.queue_label, self.online_label, self.user_label, self.server_label):
            self.statusBar().addPermanentWidget(label)
        self.tray = QSystemTrayIcon(self.windowIcon(), self)
        self._build_actions()
        self._update_actions()
        if open_workspace is not None:
            self.connect_workspace(open_workspace)

    # --- actions and menus --------------------------------------------------------------------

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        standard = QKeySequence.StandardKey
        self.open_action = self._action("&Open image…", self.choose_file, standard.Open)
        self.new_project_action = self._action(
            "New &project…", lambda: self.create("project"), "Ctrl+Shift+N"
        )
        self.new_child_action = self._action("&New…", self.create_child, standard.New)
        self.edit_action = self._action("&Edit…", self.edit_selected, "F2")
        self.upload_action = self._action(
            "&Upload files…", self.choose_upload, "Ctrl+U", "Upload files to the experiment"
        )
        self.sync_action = self._action("&Sync now", self.sync_catalog, standard.Refresh)
        self.login_action = self._action("Sign &in…", self.sign_in, "Ctrl+L")
        self.settings_action = self._action("&Settings…", self.open_settings, standard.Preferences)
        self.about_action = self._action("&About lamefair", self.show_about)
        self.quit_action = self._action("&Quit", self.close, standard.Quit)
        self.find_action = self._action(
            "&Filter the catalog", lambda: self.filter_box.setFocus(), standard.Find
        )
        file_menu = self.menuBar().addMenu("&File")
        for action in (self.open_action, self.upload_action, None, self.settings_action, None):
            file_menu.addAction(action) if action else file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        catalog_menu = self.menuBar().addMenu("&Catalog")
        for action in (
            self.new_project_action,
            self.new_child_action,
            self.edit_action,
            None,
            self.sync_action,
            self.find_action,
        ):
            catalog_menu.addAction(action) if action else catalog_menu.addSeparator()
        account = self.menuBar().addMenu("&Account")
        account.addAction(self.login_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.about_action)
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        for action in (
            self.new_project_action,
            self.new_child_action,
            self.upload_action,
            self.sync_action,
            self.login_action,
        ):
            toolbar.addAction(action)

    def selected_node(self) -> TreeNode | None:
        index = self.catalog_view.currentIndex()
        return index.data(NODE_ROLE) if index.isValid() else None

    def _children_loaded(self, node: TreeNode) -> None:
        if node is self.tree_model.tree.root:
            self._hint_if_empty()

    def _hint_if_empty(self) -> None:
        """A first start: say where to begin (only when the catalog answered and we may write)."""
        root = self.tree_model.tree.root
        if (
            root.state is LoadState.LOADED
            and not root.children
            and self.online
            and (self.identity.signed_in)
        ):
            self.statusBar().showMessage(
                "The catalog is empty: start with Catalog > New project (Ctrl+Shift+N), then add "
                "a proposal, a sample and an experiment, and drop files on the experiment."
            )

    def _selection_changed(self) -> None:
        self._update_actions()
        node = self.selected_node()
        if self.engines is not None and node is not None and node.kind == "experiment":
            # Watch folders that follow the selection send their files here from now on.
            self.engines.select_experiment(node.id)

    def _update_actions(self) -> None:
        node = self.selected_node()
        ready = self.workspace is not None
        child = CHILD_KIND.get(node.kind) if node else None
        creatable = child in KIND_LABEL
        self.new_child_action.setEnabled(ready and creatable)
        self.new_child_action.setText(f"&New {child}…" if creatable else "&New…")
        self.edit_action.setEnabled(ready and node is not None and node.kind in KIND_LABEL)
        self.upload_action.setEnabled(ready and node is not None and node.kind == "experiment")
        self.new_project_action.setEnabled(ready)
        self.sync_action.setEnabled(ready)
        local = ready and self.workspace.is_local
        self.login_action.setEnabled(ready and not local)
        self.login_action.setToolTip(
            "The local catalog needs no sign-in." if local else "Sign in through your browser."
        )

    def _context_menu(self, position) -> None:
        node = self.catalog_view.indexAt(position).data(NODE_ROLE)
        menu = QMenu(self)
        if node is None:
            menu.addAction(self.new_project_action)
        else:
            self._update_actions()
            for action in (self.new_child_action, self.edit_action, self.upload_action):
                if action.isEnabled():
                    menu.addAction(action)
            if node.kind == "proposal":
                menu.addAction("Browse raw bucket", lambda: self.browse(node, "raw_bucket"))
                menu.addAction("Browse NXem mirror", lambda: self.browse(node, "mirror_bucket"))
        menu.popup(self.catalog_view.viewport().mapToGlobal(position))

    # --- connecting and syncing ---------------------------------------------------------------

    def _run(self, work, done=None, failed=None, pool=None, background=False) -> Job:
        """Run `work()` on a pool; `done(result)` and `failed(message)` on the UI thread."""
        return self._jobs.run(work, done, failed, pool=pool, background=background)

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
            self.tree_model.reload()
            # The feed may carry the catalog's FAIRmat verdicts for the NXem column.
            if self.workspace is not None:
                self.transfers.reload(self.workspace.uploads)
        elif not result.problem:
            self._hint_if_empty()
        self.catalog_synced.emit(result.changes)

    # --- create and edit ----------------------------------------------------------------------

    def create(self, kind: str, parent: TreeNode | None = None) -> EntityDialog | None:
        if self.workspace is None:
            return None
        dialog = EntityDialog(
            self.workspace.sync, kind, parent_id=parent.id if parent else None, parent=self
        )
        dialog.saved.connect(lambda _node: self.tree_model.reload_children(parent))
        dialog.setModal(True)
        dialog.show()
        return dialog

    def create_child(self) -> EntityDialog | None:
        node = self.selected_node()
        if node is None or CHILD_KIND.get(node.kind) not in KIND_LABEL:
            return None
        return self.create(CHILD_KIND[node.kind], node)

    def edit_selected(self) -> EntityDialog | None:
        node = self.selected_node()
        if self.workspace is None or node is None or node.kind not in KIND_LABEL:
            return None
        # The tree node holds the cached data already: no read needed to fill the form.
        cached = Node(node.kind, node.id, None, node.name, node.data, node.pending)
        dialog = EntityDialog(self.workspace.sync, node.kind, node=cached, parent=self)
        dialog.saved.connect(
            lambda saved: self.tree_model.update_node(node, saved.name, saved.data, saved.pending)
        )
        dialog.setModal(True)
        dialog.show()
        return dialog

    # --- upload -------------------------------------------------------------------------------

    def choose_upload(self) -> None:
        node = self.selected_node()
        if node is None or node.kind != "experiment":
            self.statusBar().showMessage("Select an experiment to upload to.", 8000)
            return
        files, _ = QFileDialog.getOpenFileNames(self, f"Upload to {node.name}")
        if files:
            self.files_dropped(node, [Path(f) for f in files])

    def _dropped_on_transfers(self, paths: list[Path]) -> None:
        node = self.selected_node()
        if node is None or node.kind != "experiment":
            self.statusBar().showMessage(
                "Select the experiment in the catalog first, or drop the files onto it.", 10_000
            )
            return
        self.files_dropped(node, paths)

    def files_dropped(self, node: TreeNode, paths: list[Path]) -> None:
        """Files or folders dropped on an experiment: read its context, then ask the dialog."""
        if self.workspace is None:
            return
        cache = self.workspace.sync.cache
        settings = self.workspace.settings
        self._run(
            lambda: upload_context(cache, node.id, settings), lambda c: self._ask_upload(c, paths)
        )

    def _ask_upload(self, context: UploadContext, paths: list[Path]) -> None:
        dialog = UploadDialog(
            paths,
            experiment_id=context.experiment_id,
            experiment_name=context.experiment_name,
            pairs=list(context.pairs),
            context=context.context,
            operator=self.identity.name if self.identity.signed_in else "",
            remembered_pair=context.remembered_pair,
            parent=self,
        )
        dialog.accepted.connect(lambda: self.start_upload(dialog.request()))
        dialog.setModal(True)
        dialog.show()
        self.upload_dialog_opened.emit(dialog)

    def start_upload(self, request: UploadRequest) -> None:
        """Hash, register the measurement, queue the files (and their conversions), on a worker."""
        workspace = self.workspace
        self.statusBar().showMessage(f"Reading {len(request.inputs)} item(s) for upload…")
        converting = self._converting

        def work() -> tuple[dict, str]:
            try:  # the pair is proposed again for this experiment
                workspace.settings = remember_pair(request.experiment_id, request.pair)
            except (OSError, SettingsError) as exc:  # a convenience: never a reason not to upload
                log.warning("could not remember the instrument pair: %s", exc)
            taken = Intake(workspace.uploader, workspace.derived).take(
                Measurement(
                    request.experiment_id,
                    request.pair,
                    request.operator,
                    request.description,
                    request.convert,
                ),
                list(request.inputs),
            )
            measurement, problem = taken.measurement, taken.conversion_problem
            if taken.converting:
                # Announced once converted, not once uploaded (set.add is atomic: safe here).
                converting.add(measurement["id"])
            return measurement, problem

        def registered(result: tuple[dict, str]) -> None:
            measurement, problem = result
            self.statusBar().showMessage(
                f"{len(measurement['files'])} file(s) queued for upload.", 8000
            )
            self.tabs.setCurrentWidget(self.transfers)
            self.transfers.reload(workspace.uploads)
            self.engines.kick()
            self.upload_registered.emit(measurement)
            if problem:
                QMessageBox.warning(
                    self,
                    "Files queued, conversion not",
                    f"The files are queued for upload, but their conversion to NXem could not "
                    f"be recorded: {problem}\n\nConvert them later with `lamefair convert`, or "
                    "upload them again with conversion on.",
                )

        def failed(message: str, _details: str) -> None:
            QMessageBox.warning(self, "Upload not started", f"{message}\n\nNothing was queued.")

        self._run(work, registered, failed, registration_pool(), background=True)

    def _measurement_progress(self, progress: MeasurementProgress) -> None:
        done = progress.files_stored + progress.files_failed == progress.files
        if done and progress.measurement_id not in self._converting:
            stored = f"{progress.files_stored} of {progress.files} file(s) stored"
            self.notify(f"Measurement uploaded: {stored}.")

    def _measurement_converted(self, event: MeasurementConverted) -> None:
        self._converting.discard(event.measurement_id)
        text = f"Measurement stored and converted: {event.files} file(s), {event.valid} valid NXem"
        if event.problems:
            text += f", {event.problems} with problems (see Transfers)"
        self.notify(text + ".")

    def _update_queue_label(self, counts: dict | None = None) -> None:
        done, size = self.transfers.model.totals()
        active = self.transfers.model.active()
        self.queue_label.setText(f"Queue: {active} active, {done * 100 // size if size else 100} %")

    def add_watch_folder(self) -> WatchRuleDialog | None:
        if self.workspace is None:
            return None
        node = self.selected_node()
        experiment = node if node is not None and node.kind == "experiment" else None
        dialog = WatchRuleDialog(
            server=self.workspace.catalog_key,
            pairs=default_registry().pairs(),
            experiment_id=experiment.id if experiment else None,
            experiment_name=experiment.name if experiment else "",
            parent=self,
        )
        if experiment is not None:
            self.watch.names[experiment.id] = experiment.name
        dialog.accepted.connect(lambda: self.watch.add_rule(dialog.rule()))
        dialog.setModal(True)
        dialog.show()
        return dialog

    def notify(self, text: str) -> None:
        """A desktop notification where the system has a tray, the status bar always."""
        if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
            self.tray.show()
            self.tray.showMessage("lamefair", text)
        self.statusBar().showMessage(text, 15_000)
        self.notified.emit(text)

    # --- buckets and preview ------------------------------------------------------------------

    def browse(self, proposal: TreeNode, which: str) -> None:
        self.tabs.setCurrentWidget(self.buckets)
        self.buckets.show_bucket(proposal.data.get(which, ""))

    def _tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.buckets and self.workspace is not None:
            self.buckets.reload_buckets()  # proposals created since appear

    def open_preview(self, path: str) -> None:
        self.tabs.setCurrentWidget(self.preview)
        self.preview.open_file(path)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", OPEN_FILTER)
        if path:
            self.open_preview(path)

    # --- account and settings -----------------------------------------------------------------

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

    def open_settings(self) -> SettingsDialog | None:
        try:
            settings = Settings.load()
        except SettingsError as exc:  # broken since start-up: say so, never edit the defaults
            QMessageBox.warning(self, "lamefair settings", f"{exc}\n\nFix or delete the file.")
            return None
        dialog = SettingsDialog(settings, self)
        dialog.accepted.connect(lambda: self._save_settings(dialog.settings()))
        dialog.setModal(True)
        dialog.show()
        return dialog

    def _save_settings(self, settings: Settings) -> None:
        """A file broken meanwhile, or a full or read-only disk: say so, change nothing."""
        try:
            settings.save()
        except (SettingsError, OSError) as exc:
            QMessageBox.warning(self, "lamefair settings", f"Settings not saved: {exc}")

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self)
        dialog.show()
        return dialog

    # --- closing ------------------------------------------------------------------------------

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        self.preview.close_file()
        if self.engines is not None:
            self.engines.request_stop()  # parts in flight finish; the queues keep the rest
        super().closeEvent(event)

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """After the event loop: let the engines reach a clean point, then disconnect (and stop
        the local catalog if we started it). Whatever is unfinished stays queued."""
        if self.engines is not None:
            self.engines.stop(wait_ms / 1000)
        for pool in all_pools():
            pool.waitForDone(wait_ms)
        for workspace in {id(w): w for w in [self.workspace, *self._opened] if w}.values():
            workspace.close()
        self.workspace = None
        self._opened.clear()
