"""Pause, resume and cancel of queued uploads, from this process or another one.

A part of the Uploader (upload.py), kept apart because it is read on its own: what a button in
the window does to a file, running or not. It works on the uploader's queue, claims, client and
the sets of paused and cancelled files, under its lock.
"""

from __future__ import annotations

import contextlib

from lamefair_desktop.catalog.client import CatalogError
from lamefair_desktop.catalog.retry import CancelEvent
from lamefair_desktop.transfer.errors import Paused
from lamefair_desktop.transfer.progress import FileProgress
from lamefair_desktop.transfer.states import UploadState


class UploadControl:
    def pause(self, file_id: str) -> None:
        with self._lock:
            self._paused.add(file_id)
            self._stop_waits(file_id)
        self.queue.set_state(file_id, UploadState.PAUSED)
        self._announce(file_id)

    def resume(self, file_id: str) -> None:
        with self._lock:
            self._paused.discard(file_id)
        item = self.queue.get(file_id)
        if item is not None and item.state in (
            UploadState.PAUSED,
            UploadState.FAILED,
            UploadState.CANCELLED,
        ):
            self.queue.set_state(file_id, UploadState.QUEUED)
            self._announce(file_id)

    def resume_after_sign_in(self) -> int:
        """Put every file that waited for a sign-in back in the queue; returns how many."""
        waiting = [
            i
            for i in self.queue.items((UploadState.SIGNIN,))
            if i.server == self.client.catalog_key
        ]
        for item in waiting:
            self.queue.set_state(item.file_id, UploadState.QUEUED)
            self._announce(item.file_id)
        return len(waiting)

    def _announce(self, file_id: str) -> None:
        """A state set from outside a run (pause, resume, cancel) reaches the progress listener
        too: a file that is not uploading right now has no run to say so."""
        item = self.queue.get(file_id)
        if item is None or self.progress is None:
            return
        if item.state == UploadState.STORED:
            done = item.size
        elif item.upload_id and item.part_size:
            done = min(item.size, len(self.queue.parts(file_id, item.upload_id)) * item.part_size)
        else:
            done = 0
        self.progress(
            FileProgress(
                item.file_id,
                item.measurement_id,
                item.rel_path,
                item.size,
                done,
                0.0,
                None,
                item.state,
                item.error,
            )
        )

    def cancel(self, file_id: str) -> None:
        """Stop the file and abort its multipart upload (S3 drops the parts).

        A file another process is sending is only marked `cancelled`: that process sees it
        and aborts its own upload. Aborting under it made its parts fail, and it wrote
        `failed` over the cancel."""
        with self._lock:
            self._cancelled.add(file_id)
            self._stop_waits(file_id)
        # Already stored, or unreachable: the queue state below is what matters.
        if not self.claims.holders([file_id]):
            with contextlib.suppress(CatalogError):
                self.client.abort_upload(file_id)
        self.queue.set_state(file_id, UploadState.CANCELLED)
        self._announce(file_id)

    def _stop_waits(self, file_id: str) -> None:
        """Under the lock: a file waiting to retry a request stops waiting."""
        if (stop := self._stops.get(file_id)) is not None:
            stop.set()

    def _stopped(self, file_id: str, cancel: CancelEvent) -> bool:
        with self._lock:
            if file_id in self._cancelled:
                return True
            if file_id in self._paused:
                raise Paused
        if cancel.is_set() or self.claims.lost(file_id):
            return True
        told = self._told_elsewhere(file_id)
        if told == UploadState.PAUSED:
            raise Paused
        if told == UploadState.CANCELLED:  # the upload is ours, so aborting it is ours too
            with contextlib.suppress(CatalogError):
                self.client.abort_upload(file_id)
            return True
        return False

    def _told_elsewhere(self, file_id: str) -> str | None:
        """`paused` or `cancelled` when another process (the window) set it on a file we are
        sending. One read per part: nothing next to the part itself."""
        item = self.queue.get(file_id)
        return (
            item.state
            if item is not None and item.state in (UploadState.PAUSED, UploadState.CANCELLED)
            else None
        )
