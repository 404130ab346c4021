"""Which branches of the catalog tree are open and which entry is selected, kept across restarts
(and across a full `reload` of the model; a sync merges in place and needs none of this).

The lazy model fills level by level on workers, so the state is kept by entity id and the
branches are opened again as their parents' children arrive (`children_loaded`): no blocking
walk, and an entry that is gone is simply not found.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject
from PySide6.QtWidgets import QTreeView

from lamefair_desktop.catalog.tree import TreeNode
from lamefair_desktop.ui.models.catalog_filter_model import CatalogFilterModel
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE, CatalogTreeModel


def _key(node: TreeNode) -> str:
    return f"{node.kind}:{node.id}"


class TreeMemory(QObject):
    def __init__(self, view: QTreeView, model: CatalogTreeModel, proxy: CatalogFilterModel) -> None:
        super().__init__(view)
        self.view, self.model, self.proxy = view, model, proxy
        self._open: set[str] = set()  # branches to open again as they appear
        self._current = ""  # the entry to select again once it appears
        model.children_loaded.connect(self._loaded)

    def state(self) -> tuple[list[str], str]:
        """The open branches and the selected entry, as they are now (to save)."""
        opened: list[str] = []
        stack = list(self.model.tree.root.children)
        while stack:
            node = stack.pop()
            if node.children and self.view.isExpanded(self._view_index(node)):
                opened.append(_key(node))
                stack.extend(node.children)
        # Branches still waiting to be opened again count too (a reload before they arrived).
        opened.extend(key for key in self._open if key not in opened)
        index = self.view.currentIndex()
        current = index.data(NODE_ROLE) if index.isValid() else None
        return opened, _key(current) if current is not None else self._current

    def restore(self, opened: list[str], current: str) -> None:
        """Open these branches and select this entry as they load (call before the model is
        reset; the view loads the root itself)."""
        self._open, self._current = set(opened), current

    def _view_index(self, node: TreeNode) -> QModelIndex:
        return self.proxy.mapFromSource(self.model.index_of(node))

    def _loaded(self, node: TreeNode) -> None:
        for child in node.children:
            key = _key(child)
            if key in self._open:
                self._open.discard(key)
                self.view.expand(self._view_index(child))  # loads its children in turn
            if key == self._current:
                self._current = ""
                index = self._view_index(child)
                self.view.setCurrentIndex(index)
                self.view.scrollTo(index)
