"""The main window's editing: create and edit catalog entries, add watch folders (the dialogs do
the asking; this opens them for the selected node and hands their result on).

A part of MainWindow (ui/main_window.py).
"""

from __future__ import annotations

from lamefair_desktop.catalog.sync import Node
from lamefair_desktop.catalog.tree import CHILD_KIND, TreeNode
from lamefair_desktop.nexus.mapping import default_registry
from lamefair_desktop.ui.dialogs.entity_dialog import EntityDialog
from lamefair_desktop.ui.panels.watch_panel import WatchRuleDialog, proposed_pair
from lamefair_desktop.ui.window.actions import KIND_LABEL


class WindowEditing:
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
            default_pair=proposed_pair(
                self.workspace.settings, experiment.id if experiment else None
            ),
            parent=self,
        )
        if experiment is not None:
            self.watch.names[experiment.id] = experiment.name
        dialog.accepted.connect(lambda: self.watch.add_rule(dialog.rule()))
        dialog.setModal(True)
        dialog.show()
        return dialog
