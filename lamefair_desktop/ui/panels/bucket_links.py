"""Links and exports of the bucket browser: a presigned link copied to the clipboard, a revocable
share link (dialogs/share_dialog.py), an aria2 input file for a folder, and the listing's context
menu that offers them beside Download….

A part of BucketBrowser (bucket_browser.py), which holds the widgets, jobs and signals these use;
downloads and previews are in bucket_downloads.py.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu

from lamefair_desktop.transfer.aria2_export import export_aria2
from lamefair_desktop.ui.dialogs.share_dialog import ShareDialog

PROPOSAL = Qt.ItemDataRole.UserRole + 10  # the bucket box's item: its proposal's id


class BucketLinks:
    def copy_link(self) -> None:
        files = [e for e in self.selected() if not e.is_folder]
        if not files:
            self.problem.emit("Select a file to copy its link.")
            return
        self.copy_link_of(self.bucket, files[0].key)

    def copy_link_of(self, bucket: str, key: str) -> None:
        client = self.client

        def copied(signed: dict) -> None:
            QGuiApplication.clipboard().setText(signed["url"])
            self.link_copied.emit(signed["url"], int(signed.get("expires_in") or 0))

        self._run(lambda: client.presign_keys(bucket, [key])[0], copied)

    def _context_menu(self, point) -> None:
        menu = QMenu(self)
        menu.addAction("Download…", self.download_selected)
        menu.addAction("Copy link", self.copy_link)
        menu.addAction("Share link…", lambda: self.share_selected())
        menu.popup(self.views.currentWidget().viewport().mapToGlobal(point))

    def share_selected(self) -> ShareDialog | None:
        """The Share link… dialog for the selected file or folder (else the folder shown)."""
        entries = self.selected()
        key = entries[0].key if entries else self.model.prefix
        proposal = self.bucket_box.currentData(PROPOSAL)
        if not key or not proposal:
            self.problem.emit("Select a file or a folder to share.")
            return None
        dialog = ShareDialog(self.client, {"bucket": self.bucket, "key": key}, key, proposal, self)
        dialog.show()
        return dialog

    def export_aria2(self, target: str | None = None) -> None:
        target = target or self.ask_aria2_file()
        if not target:
            return
        client, bucket = self.client, self.bucket
        folders = [e.key for e in self.selected() if e.is_folder]
        prefix = folders[0] if folders else self.model.prefix

        def done(count: int) -> None:
            self.progress.show()
            self.progress.setValue(1000)
            self.progress.setFormat(f"{target}: {count} object(s); run `aria2c -i {target}`")

        self._run(lambda: export_aria2(client, bucket, prefix, Path(target)), done)
