"""Registering files: settle, create the measurement in the catalog, queue every file.

Files are registered by path and size: nothing is read here, so the first bytes go out at once
and every byte is read once (the upload hashes what it sends). A SHA-256 known already (a watch
folder hashes to recognise renames) is registered with the file and the upload must match it.
Callers go through intake.py, which also queues the conversions.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from lamefair_catalog.shared import InvalidName, sanitize_path_set, sanitize_relative_path
from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.transfer.errors import UploadError
from lamefair_desktop.transfer.queue import QueuedFile, UploadQueue
from lamefair_desktop.transfer.states import UploadState


@dataclass(frozen=True)
class LocalFile:
    path: Path
    rel_path: str
    size: int
    mtime_ns: int


def collect_files(inputs: list[Path]) -> list[LocalFile]:
    """Files and folders as dropped: folders keep their relative paths (with their own name)."""
    found: list[LocalFile] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            for path in sorted(p for p in item.rglob("*") if p.is_file()):
                rel = path.relative_to(item.parent).as_posix()
                found.append(_local(path, rel))
        elif item.is_file():
            found.append(_local(item, item.name))
        else:
            raise UploadError(f"{item} does not exist or is not a regular file.")
    try:
        sanitize_path_set([entry.rel_path for entry in found])  # the catalog's own rules
    except InvalidName as exc:
        raise UploadError(str(exc)) from None
    return found


def _local(path: Path, rel: str) -> LocalFile:
    stat = path.stat()
    return LocalFile(path.resolve(), rel, stat.st_size, stat.st_mtime_ns)


def wait_until_stable(
    files: list[LocalFile], cancel: threading.Event, stable_seconds: float, stable_checks: int
) -> list[LocalFile]:
    """Files still being written (size or mtime changing) are not taken until they settle.

    A file untouched for longer than the quiet time is settled already: no need to wait.
    """
    quiet_ns = int(stable_seconds * 1e9)
    if all(time.time_ns() - f.mtime_ns > quiet_ns for f in files):
        return files
    current = files
    for _ in range(stable_checks):
        if cancel.wait(stable_seconds):
            return current
        changed = []
        refreshed = []
        for item in current:
            now = _local(item.path, item.rel_path)
            refreshed.append(now)
            if (now.size, now.mtime_ns) != (item.size, item.mtime_ns):
                changed.append(now.rel_path)
        current = refreshed
        if not changed:
            return current
    raise UploadError(
        f"{', '.join(changed[:3])} kept changing for "
        f"{stable_checks * stable_seconds:.0f} s; wait until the "
        "acquisition has finished writing, then add the files again."
    )


def register_files(
    client: CatalogClient,
    queue: UploadQueue,
    experiment_id: str,
    files: list[LocalFile],
    *,
    instrument_pair: str = "generic",
    operator: str = "",
    description: str = "",
    measurement_id: str | None = None,
    file_ids: dict[str, str] | None = None,
    known_sha256: dict[str, str] | None = None,
) -> dict:
    """Register settled files (relative paths as given) as one measurement and queue them.

    With `measurement_id` and `file_ids` chosen (and recorded) by the caller, calling again
    after a crash replays the same create, which the catalog answers idempotently: a watch
    folder never registers a file twice. `known_sha256`: hashes taken already, registered."""
    known_sha256 = known_sha256 or {}
    hashes = [known_sha256.get(f.rel_path) for f in files]
    file_ids = file_ids or {}
    measurement = client.create_measurement(
        {
            "id": measurement_id or str(uuid.uuid4()),
            "experiment": experiment_id,
            "instrument_pair": instrument_pair,
            "operator": operator,
            "description": description,
            "files": [
                {
                    "id": file_ids.get(f.rel_path) or str(uuid.uuid4()),
                    "path": f.rel_path,
                    "size": f.size,
                    **({"sha256": h} if h else {}),
                }
                for f, h in zip(files, hashes, strict=True)
            ],
        }
    )
    by_path = {
        sanitize_relative_path(f.rel_path): (f, h) for f, h in zip(files, hashes, strict=True)
    }
    queued = []
    for registered in measurement["files"]:
        local, digest = by_path[registered["path"]]
        queued.append(
            QueuedFile(
                file_id=registered["id"],
                measurement_id=measurement["id"],
                server=client.catalog_key,
                local_path=str(local.path),
                rel_path=registered["path"],
                size=local.size,
                mtime_ns=local.mtime_ns,
                sha256=digest or "",
                state=UploadState.QUEUED,
                upload_id=None,
                part_size=None,
                part_count=None,
                error="",
            )
        )
    queue.add(queued)
    return measurement
