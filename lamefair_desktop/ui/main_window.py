"""The main window: catalog tree on the left; preview, transfers and buckets on the right; the
status bar says which server, who, online or not, and what the queue holds.

Everything that touches the disk or the network runs in a Job (workers/job.py); uploads,
conversions and watch folders run in a process of their own (workers/engine_worker.py). This
class builds the widgets and wires their signals; its concerns live in ui/window/ as mixins
(actions and menus, connection and sync, editing, files, export, uploads, settings, closing).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QSystemTrayIcon,
    QTabWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from lamefair_desktop import __version__
from lamefair_desktop.catalog.tree import LoadState, TreeNode
from lamefair_desktop.engines.workspace import Identity, Workspace
from lamefair_desktop.nexus import formats
from lamefair_desktop.ui.dialogs.about_dialog import AboutDialog
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
from lamefair_desktop.ui.thumbnail_icons import ThumbnailIcons
from lamefair_desktop.ui.tree_thumbnail_tips import TreeThumbnailTips
from lamefair_desktop.ui.window.actions import WindowActions
from lamefair_desktop.ui.window.closing import WindowClosing
from lamefair_desktop.ui.window.connection import WindowConnection
from lamefair_desktop.ui.window.editing import WindowEditing
from lamefair_desktop.ui.window.export_actions import WindowExport
from lamefair_desktop.ui.window.file_actions import WindowFiles
from lamefair_desktop.ui.window.find import install_find
from lamefair_desktop.ui.window.remembered import restore_layout
from lamefair_desktop.ui.window.settings import WindowSettings
from lamefair_desktop.ui.window.tree_memory import TreeMemory
from lamefair_desktop.ui.window.uploads import WindowUploads
from lamefair_desktop.workers.engine_worker import EngineWorker
from lamefair_desktop.workers.job import Job, JobGroup

OPEN_FILTER = formats.OPEN_FILTER


class MainWindow(
    WindowActions,
    WindowConnection,
    WindowEditing,
    WindowFiles,
    WindowExport,
    WindowUploads,
    WindowSettings,
    WindowClosing,
    QMainWindow,
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

    # --- jobs (connecting, syncing and signing in: window/connection.py) ----------------------

    def _run(self, work, done=None, failed=None, pool=None, background=False) -> Job:
        """Run `work()` on a pool; `done(result)` and `failed(message)` on the UI thread."""
        return self._jobs.run(work, done, failed, pool=pool, background=background)

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

    # --- help (settings: window/settings.py; closing: window/closing.py) -----------------------

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self)
        dialog.show()
        return dialog
