"""Files in the catalog tree: Preview, Download…, Copy link and Show in bucket (a context menu), and
a double-click that opens the preview.

The bucket browser's own actions do the work (same download path, preview cache, presigned link),
given the file's bucket and key from the cached entity: nothing here is written twice. Only a
stored file exists in storage; for the others the menu says why its entries are disabled.

A part of MainWindow (ui/main_window.py).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QMenu

from lamefair_desktop.catalog.tree import TreeNode
from lamefair_desktop.ui.models.bucket_model import Entry
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE
from lamefair_desktop.ui.panels.bucket_downloads import PREVIEWABLE, TEXT_SUFFIXES


def file_entry(node: TreeNode) -> Entry:
    """The bucket browser's entry for a file node (bucket and key from the cached entity)."""
    data = node.data
    key = str(data.get("key", ""))
    # An undeclared SHA-256 is "" (or null from older catalogs): nothing to check, not a digest.
    sha256 = data.get("sha256") or None
    return Entry(key.rsplit("/", 1)[-1], key, False, int(data.get("size") or 0), sha256)


def not_available(node: TreeNode) -> str:
    """Why a file cannot be fetched ("" when it can)."""
    state = node.data.get("state")
    if state != "stored":
        return f"{node.name} is not stored ({state}): only stored files can be fetched."
    if not node.data.get("bucket") or not node.data.get("key"):
        return f"The catalog has not said where {node.name} is stored yet; sync (F5)."
    return ""


class WindowFiles:
    def file_menu(self, node: TreeNode) -> QMenu:
        menu = QMenu(self)
        why = not_available(node) or ("" if self.workspace is not None else "Not connected yet.")
        previewable = node.name.lower().endswith(PREVIEWABLE + TEXT_SUFFIXES)
        for text, slot, extra in (
            ("Preview", self.preview_file, "" if previewable else "Not an image or a text file."),
            ("Download…", self.download_file, ""),
            ("Copy link", self.copy_file_link, ""),
            ("Show in bucket", self.show_file_in_bucket, ""),
        ):
            action = menu.addAction(text, lambda s=slot: s(node))
            reason = why or extra
            action.setEnabled(not reason)
            action.setToolTip(reason or text)
        menu.setToolTipsVisible(True)
        return menu

    def _file_ready(self, node: TreeNode) -> bool:
        why = not_available(node) or ("" if self.workspace is not None else "Not connected yet.")
        if why:
            self.statusBar().showMessage(why, 10_000)
        return not why

    def preview_file(self, node: TreeNode) -> None:
        if self._file_ready(node):
            self.statusBar().showMessage(f"Fetching {node.name} for the preview…", 5000)
            self.buckets.preview_entry(node.data["bucket"], file_entry(node))

    def download_file(self, node: TreeNode, folder: str | None = None) -> None:
        if self._file_ready(node):
            self.buckets.download_entries(node.data["bucket"], [file_entry(node)], folder)

    def copy_file_link(self, node: TreeNode) -> None:
        if self._file_ready(node):
            self.buckets.copy_link_of(node.data["bucket"], node.data["key"])

    def show_file_in_bucket(self, node: TreeNode) -> None:
        if self._file_ready(node):
            self.buckets.reveal(node.data["bucket"], node.data["key"])
            self.tabs.setCurrentWidget(self.buckets)

    def _tree_double_clicked(self, index: QModelIndex) -> None:
        node = index.data(NODE_ROLE)
        if node is not None and node.kind == "file":
            self.preview_file(node)
