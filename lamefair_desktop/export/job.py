"""`export_crate`: one export from request to finished `.eln`, for the CLI and the window's worker.

A core job in the house shape (workers/job.py): frozen request in, `report(ExportProgress)` now
and then, the cancel event checked between chunks, an ExportResult out. The archive is written
as `<name>.eln.partial` beside the target and renamed when complete: a failed, cancelled or
killed export never leaves a half archive under the name asked for, and the partial file is
removed on every failure the process lives to see.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.export.eln_zip import SIGN_AHEAD, ElnArchive, ObjectStreamer
from lamefair_desktop.export.metadata import crate_metadata
from lamefair_desktop.export.plan import BadExportInput, ExportError, ExportPlan, plan_export

METADATA = "ro-crate-metadata.json"


@dataclass(frozen=True)
class ExportRequest:
    kind: str  # "measurement", "experiment" or "proposal"
    entity_id: str
    output: Path  # the .eln to write
    license: str  # SPDX identifier (CC-BY-4.0) or a licence's URL
    links_only: bool = False  # raw files as links to the catalog, not their bytes
    overwrite: bool = False


@dataclass(frozen=True)
class ExportProgress:
    path: str  # the file being written ("" while asking the catalog)
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int


@dataclass(frozen=True)
class ExportResult:
    output: Path
    files: int  # written into the archive
    linked: int  # raw files given as links only
    bytes: int  # of file contents written


def partial_path(output: Path) -> Path:
    return output.with_name(output.name + ".partial")


def check_output(request: ExportRequest) -> Path:
    """The target path, or ExportError saying why it cannot be written (before any request)."""
    output = Path(request.output).expanduser()
    if output.is_dir():
        raise BadExportInput(f"{output} is a folder; give the name of the .eln file to write.")
    if output.suffix.lower() != ".eln":
        raise BadExportInput(f"{output}: the file name must end in .eln (the ELN archive format).")
    if output.exists() and not request.overwrite:
        raise BadExportInput(f"{output} exists already; choose another name or delete it first.")
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise BadExportInput(f"The folder {folder} does not exist; create it or choose another.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadExportInput(f"Cannot write into {folder}: no permission; choose another folder.")
    return output


def export_crate(
    client: CatalogClient,
    request: ExportRequest,
    report: Callable[[ExportProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> ExportResult:
    output = check_output(request)
    license = request.license.strip()
    if not license:
        raise BadExportInput("Say under which licence the data is published (e.g. CC-BY-4.0).")
    plan = plan_export(client, request.kind, request.entity_id)
    partial = partial_path(output)
    try:
        archive = ElnArchive(partial, output.stem)
    except OSError as exc:
        raise ExportError(
            f"Cannot write {partial}: {exc.strerror}; choose another folder."
        ) from None
    try:
        result = _write(client, plan, request, archive, output, report or (lambda _p: None), cancel)
        archive.close()
        os.replace(partial, output)
        return result
    except BaseException as exc:
        with contextlib.suppress(Exception):
            archive.close()
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ExportError(f"Cannot write {partial}: {exc.strerror or exc}.") from None
        raise


def _write(
    client: CatalogClient,
    plan: ExportPlan,
    request: ExportRequest,
    archive: ElnArchive,
    output: Path,
    report: Callable[[ExportProgress], None],
    cancel: threading.Event | None,
) -> ExportResult:
    linked = {f.path for f in plan.files if request.links_only and f.role == "raw"}
    to_copy = [f for f in plan.files if f.path not in linked]
    total = sum(f.size for f in to_copy)
    done = 0
    written = 0
    current = ""

    def moved(count: int) -> None:
        nonlocal done
        done += count
        report(ExportProgress(current, done, total, written, len(to_copy)))

    streamer = ObjectStreamer(client, moved, cancel)
    digests: dict[str, tuple[int, str]] = {}
    try:
        for start in range(0, len(to_copy), SIGN_AHEAD):
            batch = to_copy[start : start + SIGN_AHEAD]
            streamer.sign_ahead(batch)
            for file in batch:
                current = file.path
                report(ExportProgress(current, done, total, written, len(to_copy)))
                with archive.open_entry(file.path, compress=file.role == "readme") as entry:
                    digests[file.path] = streamer.copy(file, entry)
                written += 1
    finally:
        streamer.close()
    metadata = crate_metadata(plan, digests, request.license, linked)
    archive.write_text(METADATA, json.dumps(metadata, indent=2, ensure_ascii=False))
    report(ExportProgress("", done, total, written, len(to_copy)))
    return ExportResult(output, written, len(linked), done)
