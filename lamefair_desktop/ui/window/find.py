"""The Find panel in the main window (Ctrl+F): its tab, and what its hits do there. Kept here
so the window itself only calls `install_find`. The panel shares the window's thumbnails (one
store for every view) and shows the view of its results chosen last time (table or grid).

Opening a hit previews its NXem from the mirror bucket (through the bucket browser's verified,
cached download); Download fetches the raw file; Show in tree opens the tree down to the file,
level by level as the lazy tree loads (TreeMemory does the opening as children arrive).
"""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu

from lamefair_desktop.ui.models.bucket_model import Entry
from lamefair_desktop.ui.panels.find_panel import FindPanel
from lamefair_desktop.ui.window.remembered import find_view, remember_find_view

LEVELS = ("project", "proposal", "sample", "experiment", "measurement")


def _entry(key: str, size: int, sha256: str) -> Entry:
    return Entry(key.rsplit("/", 1)[-1], key, False, int(size or 0), sha256 or None)


def install_find(window) -> FindPanel:
    panel = FindPanel(icons=window.thumbnails)
    window.find_panel = panel
    window.tabs.addTab(panel, "Find")
    panel.show_view(find_view())
    panel.view_changed.connect(remember_find_view)
    window.workspace_ready.connect(
        lambda workspace: panel.attach(workspace.client, workspace.settings)
    )
    panel.preview_requested.connect(lambda hit: preview_hit(window, hit))
    panel.download_requested.connect(lambda hit: download_hit(window, hit))
    panel.tree_requested.connect(lambda hit: show_hit_in_tree(window, hit))
    # Ctrl+F finds in the whole catalog; the tree's own filter moves to Ctrl+Shift+F.
    window.find_action.setText("&Filter the tree")
    window.find_action.setShortcut(QKeySequence("Ctrl+Shift+F"))
    search = window._action(
        "&Find files…", lambda: show_find(window), QKeySequence.StandardKey.Find
    )
    for menu in window.find_action.associatedObjects():
        if isinstance(menu, QMenu):
            menu.insertAction(window.find_action, search)
    window.find_files_action = search
    return panel


def show_find(window) -> None:
    window.tabs.setCurrentWidget(window.find_panel)
    window.find_panel.text.setFocus()


def preview_hit(window, hit: dict) -> None:
    entry = _entry(hit["mirror_key"], hit.get("mirror_size", 0), hit.get("mirror_sha256", ""))
    window.buckets.preview_entry(hit["mirror_bucket"], entry)


def download_hit(window, hit: dict) -> None:
    entry = _entry(hit["raw_key"], hit.get("raw_size", 0), hit.get("raw_sha256", ""))
    window.buckets.download_entries(hit["raw_bucket"], [entry])


def show_hit_in_tree(window, hit: dict) -> None:
    """Select the hit's file in the tree, opening the branches above it (loading them if
    needed: the rest is opened by TreeMemory as each level arrives)."""
    keys = [f"{kind}:{hit[kind]}" for kind in LEVELS]
    target = f"file:{hit['file']}"
    node = window.tree_model.tree.root
    view, memory = window.catalog_view, window.tree_memory

    def view_index(node):
        return window.tree_filter.mapFromSource(window.tree_model.index_of(node))

    window.filter_box.clear()  # a filter could hide the file
    for depth, kind in enumerate((*LEVELS, "file")):
        child = next((c for c in node.children if c.id == str(hit[kind])), None)
        if child is None:
            memory.restore(keys[depth:], target)  # opened as the levels load
            if node is not window.tree_model.tree.root:
                view.expand(view_index(node))
            return
        index = view_index(child)
        if kind == "file":
            view.setCurrentIndex(index)
            view.scrollTo(index)
            return
        view.expand(index)
        node = child
