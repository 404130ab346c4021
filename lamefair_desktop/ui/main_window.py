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

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
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
from lamefair_desktop.catalog.tree import LoadState, TreeNode
from lamefair_desktop.engines.process import EngineTarget
from lamefair_desktop.engines.workspace import Identity, Workspace
from lamefair_desktop.home.settings import Settings, SettingsError
from lamefair_desktop.nexus import formats
from lamefair_desktop.transfer.states import UploadState
from lamefair_desktop.ui.dialogs.about_dialog import AboutDialog
from lamefair_desktop.ui.dialogs.settings_dialog import SettingsDialog
from lamefair_desktop.ui.dialogs.share_dialog import ShareDialog
from lamefair_desktop.ui.format import human_duration
from lamefair_desktop.ui.models.catalog_filter_model import CatalogFilterModel
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE, CatalogTreeModel
from lamefair_desktop.ui.panels.bucket_browser import BucketBrowser
from lamefair_desktop.ui.panels.details_pane import DetailsPane
from lamefair_desktop.ui.panels.first_run import FirstRun
from lamefair_desktop.ui.panels.preview_panel import PreviewPanel
from lamefair_desktop.ui.panels.transfers_panel import TransfersPanel
from lamefair_desktop.ui.panels.watch_panel import WatchPanel
from lamefair_desktop.ui.question import question
from lamefair_desktop.ui.thumbnail_icons import ThumbnailIcons
from lamefair_desktop.ui.tree_thumbnail_tips import TreeThumbnailTips
from lamefair_desktop.ui.window.actions import WindowActions
from lamefair_desktop.ui.window.editing import WindowEditing
from lamefair_desktop.ui.window.export_actions import WindowExport
from lamefair_desktop.ui.window.file_actions import WindowFiles
from lamefair_desktop.ui.window.find import install_find
from lamefair_desktop.ui.window.remembered import restore_layout, save_layout
from lamefair_desktop.ui.window.tree_memory import TreeMemory
from lamefair_desktop.ui.window.uploads import WindowUploads
from lamefair_desktop.workers.engine_worker import EngineWorker
from lamefair_desktop.workers.job import Job, JobGroup
from lamefair_desktop.workers.pools import all_pools

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncResult:
    changes: int
    problem: str  # empty when the catalog answered
    identity: Identity
    sign_in: bool = False  # the catalog answered, but wants a sign-in first


OPEN_FILTER = formats.OPEN_FILTER


class MainWindow(
    WindowActions, WindowEditing, WindowFiles, WindowExport, WindowUploads, QMainWindow
):
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
        self.catalog_view.doubleClicked.connect(self._tree_double_clicked)
        # An edit or a sync changed the entry shown: show it again (the README is not refetched
        # when nothing it depends on changed).
        self.tree_model.dataChanged.connect(lambda *_: self.details.show_node(self.selected_node()))
        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText("Filter: name, identifier, element, date")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.textChanged.connect(self.tree_filter.set_text)
        # One thumbnail store for the grid, the tree's hover, the details and the upload dialog.
        self.thumbnails = ThumbnailIcons(self)
        self.tree_tips = TreeThumbnailTips(self.catalog_view, self.thumbnails)
        self.details = DetailsPane(icons=self.thumbnails)
        # The tree above, the selected entry's details below (the user drags the line between).
        self.catalog_split = QSplitter(Qt.Orientation.Vertical)
        self.catalog_split.setObjectName("catalog-splitter")
        self.catalog_split.addWidget(self.catalog_view)
        self.catalog_split.addWidget(self.details)
        self.catalog_split.setSizes([440, 320])
        self.first_run = FirstRun()
        self.first_run.hide()
        for signal in (
            self.tree_model.modelReset,
            self.tree_model.rowsInserted,
            self.tree_model.rowsRemoved,
        ):
            signal.connect(lambda *_: self._show_first_run())
        catalog_pane = QWidget()
        catalog_layout = QVBoxLayout(catalog_pane)
        catalog_layout.setContentsMargins(0, 0, 0, 0)
        catalog_layout.addWidget(self.filter_box)
        catalog_layout.addWidget(self.catalog_split, 1)
        catalog_layout.addWidget(self.first_run, 1)
        self.preview = PreviewPanel()
        self.preview.notice.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.transfers = TransfersPanel()
        self.transfers.files_dropped.connect(self._dropped_on_transfers)
        self.transfers.problem.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        self.buckets = BucketBrowser(icons=self.thumbnails)
        self.buckets.preview_requested.connect(self.open_preview)
        self.buckets.problem.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.buckets.link_copied.connect(self._link_copied)
        self.engines: EngineWorker | None = None
        self.watch = WatchPanel()
        self.watch.add_button.clicked.connect(self.add_watch_folder)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.transfers, "Transfers")
        self.tabs.addTab(self.watch, "Watch")
        self.tabs.addTab(self.buckets, "Buckets")
        self.tabs.addTab(self.preview, "Preview")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.tree_memory = TreeMemory(self.catalog_view, self.tree_model, self.tree_filter)
        self.splitter = splitter = QSplitter()
        splitter.setObjectName("main-splitter")
        splitter.addWidget(catalog_pane)
        splitter.addWidget(self.tabs)
        splitter.setSizes([340, 940])
        self.setCentralWidget(splitter)
        # A stored measurement (an upload, a watch capture) is in the catalog's change feed:
        # one sync shortly after, however many measurements end together, shows it in the tree.
        self._sync_soon = QTimer(self)
        self._sync_soon.setSingleShot(True)
        self._sync_soon.setInterval(500)
        self._sync_soon.timeout.connect(self.sync_catalog)
        self.server_label = QLabel("Connecting…")
        self.user_label = QLabel()
        self.online_label = QLabel()
        self.queue_label = QLabel()
        for label in (self.queue_label, self.online_label, self.user_label, self.server_label):
            self.statusBar().addPermanentWidget(label)
        self.tray = QSystemTrayIcon(self.windowIcon(), self)
        self._build_actions()
        install_find(self)  # the Find tab and Ctrl+F (ui/window/find.py)
        self.first_run.new_project.clicked.connect(self.new_project_action.trigger)
        self.first_run.settings.clicked.connect(self.open_settings)
        self._update_actions()
        restore_layout(self)
        if open_workspace is not None:
            self.connect_workspace(open_workspace)

    # --- selection ----------------------------------------------------------------------------

    def selected_node(self) -> TreeNode | None:
        index = self.catalog_view.currentIndex()
        return index.data(NODE_ROLE) if index.isValid() else None

    def _children_loaded(self, node: TreeNode) -> None:
        if node is self.selected_node():
            self.details.show_node(node)  # a measurement's files, with their current states
        if node is self.tree_model.tree.root:
            self._show_first_run()  # said there, no more in the status bar (it was cut)

    def _show_first_run(self) -> None:
        """The catalog answered with no project: say what to do instead of an empty tree."""
        root = self.tree_model.tree.root
        empty = self.workspace is not None and root.state is LoadState.LOADED and not root.children
        if empty:
            self.first_run.say(self.workspace.is_local, self.workspace.server_url)
        self.first_run.setVisible(empty)
        self.catalog_split.setVisible(not empty)
        self.filter_box.setVisible(not empty)

    def _selection_changed(self) -> None:
        self._update_actions()
        node = self.selected_node()
        self.details.show_node(node)
        index = self.catalog_view.currentIndex()
        if node is not None and node.kind == "measurement" and self.tree_filter.canFetchMore(index):
            self.tree_filter.fetchMore(index)  # its files, for the counts (on a worker)
        if self.engines is not None and node is not None and node.kind == "experiment":
            # Watch folders that follow the selection send their files here from now on.
            self.engines.select_experiment(node.id)

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

    # --- buckets and preview ------------------------------------------------------------------

    def browse(self, proposal: TreeNode, which: str) -> None:
        self.tabs.setCurrentWidget(self.buckets)
        self.buckets.show_bucket(proposal.data.get(which, ""))

    def _link_copied(self, _url: str, seconds: int) -> None:
        lifetime = f"valid {human_duration(seconds)}" if seconds else "valid for a limited time"
        self.statusBar().showMessage(f"Presigned link copied ({lifetime}).", 5000)

    def share_node(self, node: TreeNode) -> ShareDialog | None:
        """Share link… for an experiment, measurement or file of the tree."""
        proposal = node
        while proposal is not None and proposal.kind != "proposal":
            proposal = proposal.parent
        if self.workspace is None or proposal is None:
            return None
        dialog = ShareDialog(
            self.workspace.client, {node.kind: node.id}, node.title, proposal.id, self
        )
        dialog.show()
        return dialog

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
            return
        if self.workspace is not None:  # the dialogs propose the new defaults at once
            self.workspace.settings = settings

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self)
        dialog.show()
        return dialog

    # --- closing ------------------------------------------------------------------------------

    def quit_question(self) -> QMessageBox | None:
        """The question asked before quitting while files upload (None: nothing uploads)."""
        active = self.transfers.model.active()
        if not active:
            return None
        return question(
            self,
            "Quit lamefair?",
            f"{active} file(s) are still queued or uploading.",
            "They stay in the queue on this computer and resume where they were the next time "
            "lamefair starts; the parts already sent are kept.",
            "Quit",
            "Keep running",
        )

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        box = self.quit_question()
        if box is not None:
            box.exec()
            if box.buttonRole(box.clickedButton()) != QMessageBox.ButtonRole.AcceptRole:
                event.ignore()
                return
        try:
            save_layout(self)
        except Exception:  # noqa: BLE001 - the layout is a convenience, never a reason to stay
            log.exception("could not save the window's layout")
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
