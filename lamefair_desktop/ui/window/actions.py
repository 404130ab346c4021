"""The main window's actions, menus, toolbar and context menu, and when each is enabled.

A part of MainWindow (ui/main_window.py): it uses the window's slots and its selection.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import QMenu

from lamefair_desktop.catalog.tree import CHILD_KIND
from lamefair_desktop.resources import resource_path
from lamefair_desktop.ui.dialogs.help_dialogs import ShortcutsDialog, documentation_url
from lamefair_desktop.ui.models.catalog_tree_model import NODE_ROLE
from lamefair_desktop.ui.window.export_actions import EXPORTABLE, export_reason

KIND_LABEL = {
    "project": "project",
    "proposal": "proposal",
    "sample": "sample",
    "experiment": "experiment",
}


FALLBACK_KEYS = {
    QKeySequence.StandardKey.Preferences: "Ctrl+,",
    QKeySequence.StandardKey.Quit: "Ctrl+Q",
}


def new_child_reason(kind: str | None) -> str:
    """Why "New…" is disabled for this selection."""
    if kind == "experiment":
        return "Measurements are made by uploading files into the experiment (Ctrl+U)."
    if kind in ("measurement", "file"):
        return "Files are added by uploading a new measurement into their experiment."
    return "Select a project, proposal or sample to add to (or New project)."


def svg_icon(name: str) -> QIcon:
    """An icon from resources/icons: SVG, so it is drawn at the screen's pixel density (a 2x
    display gets 32 real pixels for a 16 px icon, not 16 blown up)."""
    return QIcon(str(resource_path("icons", f"{name}.svg")))


def _enable(action: QAction, tip: str, reason: str) -> None:
    """Enabled with `tip` as its tooltip when `tip` is given, else disabled saying `reason`."""
    action.setEnabled(bool(tip))
    text = tip or reason
    action.setToolTip(text)
    action.setStatusTip(text)


class WindowActions:
    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if isinstance(shortcut, QKeySequence.StandardKey):
            # A standard key the platform has no binding for (Preferences on Linux) would be
            # no shortcut at all: the usual Ctrl+, then.
            keys = QKeySequence.keyBindings(shortcut)
            if not keys and shortcut in FALLBACK_KEYS:
                keys = [QKeySequence(FALLBACK_KEYS[shortcut])]
            action.setShortcuts(keys)
        elif shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.window_actions.append(action)  # for Help > Keyboard shortcuts
        return action

    def _build_actions(self) -> None:
        self.window_actions: list[QAction] = []
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
        self.shortcuts_action = self._action("&Keyboard shortcuts", self.show_shortcuts)
        self.docs_action = self._action(
            "&Documentation", lambda: QDesktopServices.openUrl(documentation_url())
        )
        self.quit_action = self._action("&Quit", self.close, standard.Quit)
        self.find_action = self._action(
            "&Filter the catalog", lambda: self.filter_box.setFocus(), standard.Find
        )
        self.export_view_action = self.preview.export.action  # enabled once an image is shown
        self.export_view_action.setShortcut("Ctrl+E")
        self.window_actions.append(self.export_view_action)
        file_menu = self.menuBar().addMenu("&File")
        for action in (
            self.open_action,
            self.export_view_action,
            self.upload_action,
            None,
            self.settings_action,
            None,
        ):
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
        for action in (self.shortcuts_action, self.docs_action, None, self.about_action):
            help_menu.addAction(action) if action else help_menu.addSeparator()
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action, icon in (
            (self.new_project_action, "action-new-project"),
            (self.new_child_action, "action-new"),
            (self.upload_action, "action-upload"),
            (self.sync_action, "action-sync"),
            (self.login_action, "action-sign-in"),
        ):
            action.setIcon(svg_icon(icon))
            toolbar.addAction(action)

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.window_actions, self)
        dialog.show()
        return dialog

    def _update_actions(self) -> None:
        """Enable what the selection allows; a disabled action's tooltip says why (a greyed
        button that said nothing left new users guessing)."""
        node = self.selected_node()
        ready = self.workspace is not None
        child = CHILD_KIND.get(node.kind) if node else None
        creatable = child in KIND_LABEL
        self.new_child_action.setText(f"&New {child}…" if creatable else "&New…")
        # Until the workspace is open, nothing can be done, whatever is selected.
        why = "" if ready else "Connecting to the catalog…"
        name = node.name if node is not None else ""
        _enable(
            self.new_child_action,
            f"Add a {child} to {name}" if ready and creatable else "",
            why or new_child_reason(node.kind if node else None),
        )
        editable = ready and node is not None and node.kind in KIND_LABEL
        _enable(
            self.edit_action,
            f"Edit {name} (F2)" if editable else "",
            why or "Select a project, proposal, sample or experiment to edit.",
        )
        uploadable = ready and node is not None and node.kind == "experiment"
        _enable(
            self.upload_action,
            f"Upload files into {name} (Ctrl+U)" if uploadable else "",
            why or "Select an experiment to upload into.",
        )
        _enable(self.new_project_action, "Create a project" if ready else "", why)
        _enable(
            self.sync_action,
            "Send offline changes and fetch the catalog's (F5)" if ready else "",
            why,
        )
        local = ready and self.workspace.is_local
        _enable(
            self.login_action,
            "Sign in through your browser." if ready and not local else "",
            why or "The local catalog needs no sign-in.",
        )

    def _context_menu(self, position) -> None:
        node = self.catalog_view.indexAt(position).data(NODE_ROLE)
        self.tree_menu(node).popup(self.catalog_view.viewport().mapToGlobal(position))

    def tree_menu(self, node) -> QMenu:
        """The tree's context menu for `node` (None: the empty space below the entries)."""
        if node is not None and node.kind == "file":
            return self.file_menu(node)
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
            if node.kind in ("experiment", "measurement", "file") and not node.pending:
                menu.addAction("Share link…", lambda: self.share_node(node))
            if node.kind in EXPORTABLE:
                export = menu.addAction("Export for publication…", lambda: self.export_node(node))
                reason = export_reason(node, self.workspace is not None)
                export.setEnabled(not reason)
                export.setToolTip(reason or "An RO-Crate (.eln) with the data and its metadata")
                menu.setToolTipsVisible(True)
        return menu
