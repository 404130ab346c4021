"""Export for publication… on a measurement, an experiment or a proposal of the tree.

A part of MainWindow (ui/main_window.py); the dialog does the work (ui/dialogs/export_dialog.py).
"""

from __future__ import annotations

from lamefair_desktop.catalog.tree import TreeNode
from lamefair_desktop.ui.dialogs.export_dialog import ExportDialog

EXPORTABLE = ("measurement", "experiment", "proposal")


def export_reason(node: TreeNode, connected: bool) -> str:
    """Why this node cannot be exported now ("" when it can)."""
    if node.kind not in EXPORTABLE:
        return "Export a measurement, an experiment or a proposal."
    if node.pending:
        return f"{node.name} is not in the catalog yet: sync first (F5)."
    return "" if connected else "Not connected yet."


class WindowExport:
    def export_node(self, node: TreeNode) -> ExportDialog | None:
        if export_reason(node, self.workspace is not None):
            return None
        dialog = ExportDialog(self.workspace.client, node.kind, node.id, node.title, self)
        dialog.show()
        return dialog
