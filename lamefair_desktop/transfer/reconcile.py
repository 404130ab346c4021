"""Bring the local upload queue and the catalog into agreement; the catalog is the truth.

Two ways they drift apart:
- The local queue says `failed` or `uploading` for a file the catalog has `stored` (before
  claims, two processes on one data folder raced and the loser wrote `failed`; or a process died
  between the catalog's answer and its own commit). The catalog checked the object in S3 against
  the SHA-256, so the local row becomes `stored` when the hashes agree.
- A client gave up a file whose source changed or was deleted but could not tell the catalog
  (offline): the catalog still says `uploading` and S3 keeps the parts. Telling it again aborts
  the multipart upload and marks the file failed with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lamefair_desktop.catalog.client import CatalogClient, CatalogError, CatalogUnreachable
from lamefair_desktop.hashing import sha256_of
from lamefair_desktop.transfer.claims import Claims
from lamefair_desktop.transfer.queue import QueuedFile, UploadQueue
from lamefair_desktop.transfer.states import UploadState

CHECKED_STATES = (
    UploadState.FAILED,
    UploadState.UPLOADING,
    UploadState.QUEUED,
    UploadState.WAITING,
)
UNFINISHED_REMOTE = ("pending", "uploading")  # the catalog's own file states


@dataclass
class Reconciled:
    stored: list[QueuedFile] = field(default_factory=list)  # local row corrected to `stored`
    given_up: list[QueuedFile] = field(default_factory=list)  # the catalog was told at last


def source_changed(item: QueuedFile) -> bool:
    """The file on disk is not the one that was queued (changed, or gone)."""
    try:
        stat = os.stat(item.local_path)
    except FileNotFoundError:
        return True
    return (stat.st_size, stat.st_mtime_ns) != (item.size, item.mtime_ns)


def give_up(client: CatalogClient, file_id: str, reason: str) -> bool:
    """Tell the catalog we will not finish this file; False when it could not be told now
    (`reconcile` tells it later). A file the catalog already stored stays stored."""
    try:
        client.give_up_upload(file_id, reason)
    except CatalogUnreachable:
        return False
    except CatalogError as exc:
        return exc.status in (404, 409)  # gone or stored: nothing is left uploading
    return True


def reconcile(client: CatalogClient, queue: UploadQueue, claims: Claims) -> Reconciled:
    """Compare unfinished local rows of this catalog with the catalog, one request per
    measurement. Rows are claimed first: one another live process is working on is its own."""
    rows = [item for item in queue.items(CHECKED_STATES) if item.server == client.catalog_key]
    held = claims.take(item.file_id for item in rows)
    try:
        groups: dict[str, list[QueuedFile]] = {}
        for item in rows:
            if item.file_id in held:
                groups.setdefault(item.measurement_id, []).append(item)
        done = Reconciled()
        for measurement_id, items in groups.items():
            _align(client, queue, measurement_id, items, done)
        return done
    finally:
        claims.release(held)


def _align(
    client: CatalogClient,
    queue: UploadQueue,
    measurement_id: str,
    items: list[QueuedFile],
    done: Reconciled,
) -> None:
    try:
        measurement = client.get_entity("measurements", measurement_id)
    except CatalogError as exc:
        if isinstance(exc, CatalogUnreachable):
            raise
        return  # deleted, or no longer ours to read: nothing to align
    remote = {f["id"]: f for f in measurement["files"]}
    for item in items:
        found = remote.get(item.file_id)
        if found is None:
            continue
        if found["state"] == "stored" and _same_bytes(queue, item, found["sha256"]):
            queue.set_state(item.file_id, UploadState.STORED)
            done.stored.append(item)
        elif (
            item.state == UploadState.FAILED
            and found["state"] in UNFINISHED_REMOTE
            and source_changed(item)
            and give_up(client, item.file_id, item.error or "The source file changed.")
        ):
            done.given_up.append(item)


def _same_bytes(queue: UploadQueue, item: QueuedFile, stored_sha256: str | None) -> bool:
    """Is what the catalog stored this row's file? A row whose process died before it wrote
    down the SHA-256 it had computed while sending hashes the (unchanged) file again."""
    if not stored_sha256:
        return False
    if item.sha256:
        return item.sha256 == stored_sha256
    if source_changed(item):
        return False
    try:
        local = sha256_of(Path(item.local_path))
    except OSError:
        return False
    if local != stored_sha256:
        return False
    queue.set_sha256(item.file_id, local)
    return True
