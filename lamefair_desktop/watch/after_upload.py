"""What a watch rule does once its files are queued: the ledger follows their uploads and, with
free_space, a file leaves the folder only once read again and proven to be the bytes stored.

A part of FolderWatcher (folder.py), apart because deleting a scientist's file deserves a module
that can be read on its own. It works on the watcher's rule, store, uploader and problem log.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from lamefair_desktop.transfer.states import UploadState
from lamefair_desktop.watch.free_space import check_before_delete
from lamefair_desktop.watch.rules import LedgerEntry, LedgerState


class AfterUpload:
    def _follow(self) -> None:
        """Ledger rows follow their uploads; with free_space, verified files leave the folder."""
        for entry in self.store.entries(self.rule.id, (LedgerState.QUEUED, LedgerState.STORED)):
            upload = self.uploader.queue.get(entry.file_id)
            if upload is None:
                continue
            if entry.state == LedgerState.QUEUED and upload.state == UploadState.STORED:
                self.store.set_state(self.rule.id, None, LedgerState.STORED, file_id=entry.file_id)
                entry = replace(entry, state=LedgerState.STORED)
            elif entry.state == LedgerState.QUEUED and upload.state in (
                UploadState.FAILED,
                UploadState.CANCELLED,
            ):
                self.store.set_state(
                    self.rule.id,
                    None,
                    LedgerState.FAILED,
                    upload.error or upload.state,
                    file_id=entry.file_id,
                )
                self.say(f"{entry.rel_path}: upload {upload.state}: {upload.error}", "error")
                continue
            if entry.state == LedgerState.STORED and self.rule.free_space:
                self._free(entry)

    def _free(self, entry: LedgerEntry) -> None:
        """Delete the local copy only when proven to be the bytes stored; else say why, once."""
        path = Path(self.rule.folder) / entry.rel_path
        if not path.exists():
            self.store.set_state(self.rule.id, None, LedgerState.FREED, file_id=entry.file_id)
            return
        client = self.uploader.client
        verdict = check_before_delete(
            path, entry.size, entry.mtime_ns, entry.sha256, entry.file_id, client
        )
        key = f"free:{entry.file_id}"
        if not verdict.delete:
            if verdict.final:  # nothing will change that: stop checking (and re-hashing) it
                self.store.set_state(
                    self.rule.id, None, LedgerState.KEPT, verdict.reason, file_id=entry.file_id
                )
            self._problem(key, f"{entry.rel_path} is kept, not deleted: {verdict.reason}.")
            return
        try:
            path.unlink()
        except OSError as exc:
            self.say(f"{entry.rel_path} is stored but could not be deleted: {exc}", "warning")
            return
        self._reported.pop(key, None)
        self.store.set_state(self.rule.id, None, LedgerState.FREED, file_id=entry.file_id)
        self.say(f"{entry.rel_path}: stored and verified (SHA-256), local copy deleted.")
