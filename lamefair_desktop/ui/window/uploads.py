"""The main window's upload flow: files chosen or dropped on an experiment, the upload dialog with
the experiment's context, the intake on a worker, then the notices once stored and converted.

A part of MainWindow (ui/main_window.py): it uses the window's workspace, jobs and panels.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import (
    QFileDialog,
    QMessageBox,
)

from lamefair_desktop.catalog.tree import TreeNode
from lamefair_desktop.home.settings import SettingsError
from lamefair_desktop.nexus.local_time import ZoneChoice
from lamefair_desktop.transfer.derived import MeasurementConverted
from lamefair_desktop.transfer.intake import Intake, Measurement
from lamefair_desktop.transfer.progress import MeasurementProgress
from lamefair_desktop.transfer.upload_context import UploadContext, remember_choice, upload_context
from lamefair_desktop.ui.dialogs.upload_dialog import UploadDialog, UploadRequest
from lamefair_desktop.ui.window.remembered import default_operator, remember_operator
from lamefair_desktop.workers.pools import registration_pool

log = logging.getLogger(__name__)


class WindowUploads:
    def choose_upload(self) -> None:
        node = self.selected_node()
        if node is None or node.kind != "experiment":
            self.statusBar().showMessage("Select an experiment to upload to.", 8000)
            return
        files, _ = QFileDialog.getOpenFileNames(self, f"Upload to {node.name}")
        if files:
            self.files_dropped(node, [Path(f) for f in files])

    def _dropped_on_transfers(self, paths: list[Path]) -> None:
        node = self.selected_node()
        if node is None or node.kind != "experiment":
            self.statusBar().showMessage(
                "Select the experiment in the catalog first, or drop the files onto it.", 10_000
            )
            return
        self.files_dropped(node, paths)

    def files_dropped(self, node: TreeNode, paths: list[Path]) -> None:
        """Files or folders dropped on an experiment: read its context, then ask the dialog."""
        if self.workspace is None:
            return
        cache = self.workspace.sync.cache
        settings = self.workspace.settings
        self._run(
            lambda: upload_context(cache, node.id, settings), lambda c: self._ask_upload(c, paths)
        )

    def _ask_upload(self, context: UploadContext, paths: list[Path]) -> None:
        dialog = UploadDialog(
            paths,
            experiment_id=context.experiment_id,
            experiment_name=context.experiment_name,
            pairs=list(context.pairs),
            context=context.context,
            operator=default_operator(
                self.identity.name if self.identity.signed_in else "",
                self.workspace is not None and self.workspace.is_local,
            ),
            remembered_pair=context.remembered_pair,
            timezone=context.timezone,
            icons=self.thumbnails,
            parent=self,
        )
        dialog.accepted.connect(lambda: self.start_upload(dialog.request()))
        dialog.setModal(True)
        dialog.show()
        self.upload_dialog_opened.emit(dialog)

    def start_upload(self, request: UploadRequest) -> None:
        """Hash, register the measurement, queue the files (and their conversions), on a worker."""
        workspace = self.workspace
        remember_operator(request.operator)
        self.statusBar().showMessage(f"Reading {len(request.inputs)} item(s) for upload…")
        converting = self._converting

        def work() -> tuple[dict, str]:
            try:  # the pair and zone are proposed again for this experiment
                workspace.settings = remember_choice(
                    request.experiment_id, request.pair, request.timezone
                )
            except (OSError, SettingsError) as exc:  # a convenience: never a reason not to upload
                log.warning("could not remember the instrument pair: %s", exc)
            taken = Intake(workspace.uploader, workspace.derived).take(
                Measurement(
                    request.experiment_id,
                    request.pair,
                    request.operator,
                    request.description,
                    request.convert,
                    ZoneChoice(request.timezone, "chosen when uploading (the upload dialog)")
                    if request.timezone
                    else None,
                ),
                list(request.inputs),
            )
            measurement, problem = taken.measurement, taken.conversion_problem
            if taken.converting:
                # Announced once converted, not once uploaded (set.add is atomic: safe here).
                converting.add(measurement["id"])
            return measurement, problem

        def registered(result: tuple[dict, str]) -> None:
            measurement, problem = result
            self.statusBar().showMessage(
                f"{len(measurement['files'])} file(s) queued for upload.", 8000
            )
            self.tabs.setCurrentWidget(self.transfers)
            self.transfers.reload(workspace.uploads)
            self.engines.kick()
            self.upload_registered.emit(measurement)
            if problem:
                QMessageBox.warning(
                    self,
                    "Files queued, conversion not",
                    f"The files are queued for upload, but their conversion to NXem could not "
                    f"be recorded: {problem}\n\nConvert them later with `lamefair convert`, or "
                    "upload them again with conversion on.",
                )

        def failed(message: str, _details: str) -> None:
            QMessageBox.warning(self, "Upload not started", f"{message}\n\nNothing was queued.")

        self._run(work, registered, failed, registration_pool(), background=True)

    def _measurement_progress(self, progress: MeasurementProgress) -> None:
        done = progress.files_stored + progress.files_failed == progress.files
        if progress.files_stored and done:
            self._sync_soon.start()  # the tree shows the new measurement and its counts
        if done and progress.measurement_id not in self._converting:
            stored = f"{progress.files_stored} of {progress.files} file(s) stored"
            self.notify(f"Measurement uploaded: {stored}.")

    def _measurement_converted(self, event: MeasurementConverted) -> None:
        self._converting.discard(event.measurement_id)
        self._sync_soon.start()
        text = f"Measurement stored and converted: {event.files} file(s), {event.valid} valid NXem"
        if event.problems:
            text += f", {event.problems} with problems (see Transfers)"
        self.notify(text + ".")

    def _update_queue_label(self, counts: dict | None = None) -> None:
        done, size = self.transfers.model.totals()
        active = self.transfers.model.active()
        self.queue_label.setText(f"Queue: {active} active, {done * 100 // size if size else 100} %")
