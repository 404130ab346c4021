"""The Settings dialog opened from the main window, and saving what it returns.

A part of MainWindow (ui/main_window.py). The file is read when the dialog opens (never the
defaults over a broken file) and a failed save changes nothing.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from lamefair_desktop.home.settings import Settings, SettingsError
from lamefair_desktop.ui.dialogs.settings_dialog import SettingsDialog


class WindowSettings:
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
