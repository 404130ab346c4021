"""QAbstractItemModel over `catalog_tree.CatalogTree`: lazy children, loaded on a worker.

`canFetchMore`/`fetchMore` start a cache query on the general pool; rows appear when the answer
arrives (a node shows "loading…" meanwhile). Answers for nodes reloaded since are dropped.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import (
    QAbstractItemModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

from lamefair_desktop.catalog.sync import CatalogCache
from lamefair_desktop.catalog.tree import (
    CHILD_KIND,
    CatalogTree,
    ChildRecord,
    LoadRequest,
    LoadState,
    TreeNode,
    child_node,
)
from lamefair_desktop.resources import resource_path
from lamefair_desktop.ui.drops import dropped_paths
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import general_pool

KIND_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
STATE_ROLE = Qt.ItemDataRole.UserRole + 3
NODE_ROLE = Qt.ItemDataRole.UserRole + 4

ROOT = QModelIndex()  # the invisible root, as a default argument (Qt indexes are values)


@cache
def kind_icon(kind: str) -> QIcon:
    """SVG icons from resources/ (sharp at any DPI); the style's folder icon if one is missing."""
    path = resource_path("icons", f"{kind}.svg")
    if path.is_file():
        return QIcon(str(path))
    return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon)


STATE_MARKS = {"stored": "✓", "uploading": "↑", "pending": "…", "failed": "✗"}


class CatalogTreeModel(QAbstractItemModel):
    children_loaded = Signal(object)  # TreeNode
    files_dropped = Signal(object, list)  # the experiment's TreeNode, [Path]

    def __init__(self, cache: CatalogCache | None = None, parent=None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.tree = CatalogTree()
        self._jobs: set[Job] = set()

    # --- structure ----------------------------------------------------------------------------

    def node(self, index: QModelIndex) -> TreeNode:
        return index.internalPointer() if index.isValid() else self.tree.root

    def index(self, row: int, column: int, parent: QModelIndex = ROOT) -> QModelIndex:
        node = self.node(parent)
        if column != 0 or not 0 <= row < len(node.children):
            return QModelIndex()
        return self.createIndex(row, 0, node.children[row])

    def parent(self, index: QModelIndex | None = None) -> QModelIndex:  # type: ignore[override]
        if index is None or not index.isValid():
            return QModelIndex()
        parent = index.internalPointer().parent
        if parent is None or parent is self.tree.root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: QModelIndex = ROOT) -> int:  # noqa: N802
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self.node(parent).children)

    def columnCount(self, parent: QModelIndex = ROOT) -> int:  # noqa: N802
        return 1

    def hasChildren(self, parent: QModelIndex = ROOT) -> bool:  # noqa: N802
        node = self.node(parent)
        if node.is_leaf:
            return False
        if node.state is LoadState.LOADED:
            return bool(node.children)
        return node.child_count is None or node.child_count > 0

    def canFetchMore(self, parent: QModelIndex) -> bool:  # noqa: N802
        node = self.node(parent)
        return self.cache is not None and not node.is_leaf and node.state is LoadState.NOT_LOADED

    def fetchMore(self, parent: QModelIndex) -> None:  # noqa: N802
        node = self.node(parent)
        request = self.tree.begin_load(node)
        if request is None or self.cache is None:
            return
        self._refresh(node)
        cache = self.cache
        job = Job(lambda report, cancel: CatalogTree.fetch_children(cache, request))
        self._jobs.add(job)
        job.signals.finished.connect(lambda records, r=request, j=job: self._loaded(r, records, j))
        job.signals.failed.connect(
            lambda message, _d, r=request, j=job: self._failed(r, message, j)
        )
        job.start_on(general_pool())

    def index_of(self, node: TreeNode) -> QModelIndex:
        """The node's index (invalid for the root)."""
        return self._index_of(node)

    def _index_of(self, node: TreeNode) -> QModelIndex:
        if node is self.tree.root or node.parent is None:
            return QModelIndex()
        return self.createIndex(node.row, 0, node)

    def _refresh(self, node: TreeNode) -> None:
        index = self._index_of(node)
        if index.isValid():
            self.dataChanged.emit(index, index)

    def _loaded(self, request: LoadRequest, records: list, job: Job) -> None:
        self._jobs.discard(job)
        node = request.node
        if request.generation != node.generation or not self._attached(node):
            return
        parent = QPersistentModelIndex(self._index_of(node))
        if records:
            self.beginInsertRows(QModelIndex(parent), 0, len(records) - 1)
            self.tree.finish_load(request, records)
            self.endInsertRows()
        else:
            self.tree.finish_load(request, records)
        self._refresh(node)
        self.children_loaded.emit(node)

    def _failed(self, request: LoadRequest, message: str, job: Job) -> None:
        self._jobs.discard(job)
        if self.tree.fail_load(request, message):
            self._refresh(request.node)

    def _attached(self, node: TreeNode) -> bool:
        while node.parent is not None:
            node = node.parent
        return node is self.tree.root

    def reload(self, cache: CatalogCache | None = None) -> None:
        """Start again from the cache (after a sync); rows refill lazily."""
        self.beginResetModel()
        if cache is not None:
            self.cache = cache
        self.tree.reset()
        self.endResetModel()

    def refresh(self) -> None:
        """Read every loaded level again and merge it in place (after a sync): new entries are
        inserted, gone ones removed, the rest updated (names, counts, file states). Unlike
        `reload`, open branches, the selection and the scroll position stay as they are: a sync
        after each stored measurement closed the whole tree."""
        if self.cache is None:
            return
        source, stack = self.cache, [self.tree.root]
        while stack:
            node = stack.pop()
            if node.state is not LoadState.LOADED or node.is_leaf:
                continue
            stack.extend(node.children)
            request = LoadRequest(node, node.generation, CHILD_KIND[node.kind], node.id)
            job = Job(lambda report, cancel, r=request: CatalogTree.fetch_children(source, r))
            self._jobs.add(job)
            job.signals.finished.connect(
                lambda records, r=request, j=job: self._merge(r, records, j)
            )
            job.signals.failed.connect(lambda _m, _d, j=job: self._jobs.discard(j))
            job.start_on(general_pool())

    def _merge(self, request: LoadRequest, records: list[ChildRecord], job: Job) -> None:
        self._jobs.discard(job)
        node = request.node
        if (
            request.generation != node.generation  # reloaded since: that answer wins
            or node.state is not LoadState.LOADED
            or not self._attached(node)
        ):
            return
        parent = self._index_of(node)
        wanted = {record.id for record in records}
        for row in reversed(range(len(node.children))):
            if node.children[row].id not in wanted:
                self.beginRemoveRows(parent, row, row)
                del node.children[row]
                self.endRemoveRows()
        for position, record in enumerate(records):
            ids = [child.id for child in node.children]
            if record.id not in ids:
                self.beginInsertRows(parent, position, position)
                node.children.insert(position, child_node(node, record))
                self.endInsertRows()
                continue
            old = ids.index(record.id)
            if old != position:  # renamed: its place in the sorted list moved up
                self.beginMoveRows(parent, old, old, parent, position)
                node.children.insert(position, node.children.pop(old))
                self.endMoveRows()
            child = node.children[position]
            child.name, child.data, child.pending = record.name, record.data, record.pending
            if child.state is not LoadState.LOADED or child.is_leaf:
                child.child_count = record.child_count
            index = self.createIndex(position, 0, child)
            self.dataChanged.emit(index, index)
        node.child_count = len(records)
        self._refresh(node)

    def reload_children(self, node: TreeNode | None = None) -> None:
        """Read one node's children again (after a create), keeping the rest of the tree."""
        node = node if node is not None and self._attached(node) else self.tree.root
        index = self._index_of(node)
        if node.children:
            self.beginRemoveRows(index, 0, len(node.children) - 1)
            node.children = []
            self.endRemoveRows()
        node.state = LoadState.NOT_LOADED
        self.fetchMore(index)

    def update_node(self, node: TreeNode, name: str, data: dict, pending: bool) -> None:
        """Show an edited entity in place (no reload: expanded branches stay open)."""
        if not self._attached(node):
            return
        node.name, node.data, node.pending = name, data, pending
        self._refresh(node)

    # --- data ---------------------------------------------------------------------------------

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        node: TreeNode = index.internalPointer()
        if role == Qt.ItemDataRole.DisplayRole:
            text = node.label()
            badge = node.state_badge()
            if node.kind == "file" and badge:
                text = f"{STATE_MARKS.get(badge, '')} {text}".strip()
            elif badge:
                text = f"{text} — {badge}"
            if node.state is LoadState.LOADING:
                text += "  (loading…)"
            return text
        if role == Qt.ItemDataRole.ToolTipRole:
            if node.state is LoadState.ERROR:
                return f"Could not load: {node.error}"
            return node.tooltip()
        if role == Qt.ItemDataRole.DecorationRole:
            return kind_icon(node.kind)
        if role == KIND_ROLE:
            return node.kind
        if role == ID_ROLE:
            return node.id
        if role == STATE_ROLE:
            return node.state.value
        if role == NODE_ROLE:
            return node
        return None

    # --- drops: local files and folders onto an experiment, nothing else --------------------------

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return ["text/uri-list"]

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction

    def canDropMimeData(self, data: QMimeData, action, row, column, parent) -> bool:  # noqa: N802
        if not parent.isValid() or parent.internalPointer().kind != "experiment":
            return False
        return bool(dropped_paths(data))

    def dropMimeData(self, data: QMimeData, action, row, column, parent) -> bool:  # noqa: N802
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        self.files_dropped.emit(parent.internalPointer(), dropped_paths(data))
        return True

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.internalPointer().kind == "experiment":
            flags |= Qt.ItemFlag.ItemIsDropEnabled  # files are dropped onto experiments
        return flags
