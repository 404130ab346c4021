"""Downloads and previews of the bucket browser: files or folders through the transfer engine
(SHA-256 checked), a preview downloaded to the cache first, a small text file shown as it is.

A part of BucketBrowser (bucket_browser.py), which holds the widgets and signals these use. The
actions take the bucket and entries explicitly: the catalog tree's file context menu
(ui/window/file_actions.py) runs the same ones for a file it names by bucket and key.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout

from lamefair_desktop.home.preview_cache import preview_dir
from lamefair_desktop.nexus.formats import PREVIEWABLE_SUFFIXES
from lamefair_desktop.transfer.download import RemoteObject
from lamefair_desktop.transfer.download_job import (
    Downloaded,
    PreviewCache,
    Wanted,
    download,
)
from lamefair_desktop.ui.format import human_size
from lamefair_desktop.ui.models.bucket_model import Entry
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import general_pool

PREVIEWABLE = PREVIEWABLE_SUFFIXES
TEXT_SUFFIXES = (".txt", ".md", ".json", ".yaml", ".yml", ".csv", ".log")
TEXT_LIMIT = 1_000_000  # bytes of a text file shown (a README is a few hundred)


def text_start(path: Path) -> str:
    """The first TEXT_LIMIT bytes of a text file as text: a big log must not stall the UI."""
    with open(path, "rb") as handle:
        return handle.read(TEXT_LIMIT).decode("utf-8", errors="replace")


def _text_of(done: Downloaded) -> str | None:
    """On the worker: the text of a text file downloaded for the preview (up to a megabyte on a
    slow disk or a network home is no read for the UI thread), None for anything else."""
    if not done.for_preview or not done.paths:
        return None
    path = done.paths[0]
    if path.name.lower().endswith(PREVIEWABLE):
        return None
    try:
        return text_start(path)
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror or exc}"


class BucketDownloads:
    def download_selected(self, folder: str | None = None) -> None:
        self.download_entries(self.bucket, self.selected(), folder)

    def download_entries(
        self, bucket: str, entries: list[Entry], folder: str | None = None
    ) -> None:
        if not entries:
            self.problem.emit("Select files or folders to download.")
            return
        folder = folder or self.ask_folder()
        if folder:
            self._start_download(bucket, entries, Path(folder), for_preview=False)

    def preview_selected(self) -> None:
        files = [e for e in self.selected() if not e.is_folder]
        if not files:
            self.problem.emit("Select an image or a text file to preview.")
            return
        self.preview_entry(self.bucket, files[0])

    def preview_entry(self, bucket: str, entry: Entry) -> None:
        if not entry.name.lower().endswith(PREVIEWABLE + TEXT_SUFFIXES):
            self.problem.emit(f"{entry.name} cannot be previewed here; download it instead.")
            return
        folder = preview_dir(self.settings) / bucket / entry.key.rsplit("/", 1)[0]
        self._start_download(bucket, [entry], folder, for_preview=True)

    def _start_download(
        self, bucket: str, entries: list[Entry], folder: Path, *, for_preview: bool
    ) -> None:
        if self._download is not None:
            self.problem.emit("A download is running; wait for it or cancel it first.")
            return
        client = self.client
        wanted = [
            Wanted(RemoteObject(bucket, e.key, e.name, e.size, e.sha256), e.is_folder)
            for e in entries
        ]
        cache = None
        if for_preview and self.settings is not None:
            cache = PreviewCache(preview_dir(self.settings), self.settings.cache_size_mb * 1024**2)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")
        self.progress.show()
        self.cancel_button.setEnabled(True)

        def work(report, cancel: threading.Event) -> tuple[Downloaded, str | None]:
            done = download(
                client, wanted, folder, report=report, cancel=cancel, preview_cache=cache
            )
            return done, _text_of(done)

        job = Job(work)
        job.signals.progress.connect(self._download_progress)
        job.signals.finished.connect(self._download_done)
        job.signals.failed.connect(lambda message, _d: self._download_failed(message))
        job.signals.cancelled.connect(lambda: self._download_failed("Download cancelled."))
        self._download = job
        job.start_on(general_pool())

    def _download_progress(self, event: tuple[int, int, str]) -> None:
        done, total, label = event
        if total:
            self.progress.setValue(int(1000 * min(done, total) / total))
        self.progress.setFormat(f"{label}: {human_size(done)} of {human_size(total)}")

    def _download_done(self, answer: tuple[Downloaded, str | None]) -> None:
        result, text = answer
        self._download = None
        self.cancel_button.setEnabled(False)
        self.progress.setValue(1000)
        self.progress.setFormat(f"{len(result.paths)} file(s) downloaded and verified (SHA-256)")
        self.downloaded.emit(result)
        if result.for_preview and result.paths:
            path = result.paths[0]
            if path.name.lower().endswith(PREVIEWABLE):
                self.preview_requested.emit(str(path))
            else:
                self.show_text(path.name, text or "")

    def show_text(self, title: str, text: str) -> QDialog:
        """A small text file (a measurement's README.txt) shown as it is, read-only; its text
        was read on the download's worker (_text_of), never here."""
        dialog = QDialog(self)
        dialog.setWindowTitle(title)
        view = QPlainTextEdit()
        view.setReadOnly(True)
        view.setPlainText(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(view)
        layout.addWidget(buttons)
        dialog.resize(640, 420)
        dialog.show()
        self.text_shown.emit(view.toPlainText())
        return dialog

    def _download_failed(self, message: str) -> None:
        self._download = None
        self.cancel_button.setEnabled(False)
        self.progress.setFormat(message)
        self.problem.emit(message)

    def _cancel_download(self) -> None:
        if self._download is not None:
            self._download.cancel()
