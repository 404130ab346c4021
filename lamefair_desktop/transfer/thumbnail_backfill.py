"""Thumbnails for NXem files stored before there were any (no Qt): `lamefair thumbnails --missing`.

For each derived file the catalog lists without a thumbnail of its current bytes: fetch the NXem
(a presigned GET, checked against its SHA-256), render its first frame as the converter would,
send the PNG beside it. One file at a time, in a temporary folder removed afterwards: memory and
disk stay bounded whatever the proposal holds. A file that fails is reported and skipped.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lamefair_desktop.catalog.client import CatalogClient, CatalogError
from lamefair_desktop.catalog.thumbnails import upload_thumbnail
from lamefair_desktop.catalog.tls import http_client
from lamefair_desktop.nexus.errors import NexusEngineError
from lamefair_desktop.nexus.thumbnail import render_thumbnail


@dataclass(frozen=True)
class BackfillStep:
    """One derived file done: `error` is "" when its thumbnail was stored."""

    number: int  # 1-based, in the order handled
    bucket: str
    key: str
    error: str = ""


@dataclass(frozen=True)
class BackfillSummary:
    made: int = 0
    failed: tuple[BackfillStep, ...] = field(default_factory=tuple)


def fill_missing_thumbnails(
    client: CatalogClient,
    proposal: str | None = None,
    *,
    progress: Callable[[BackfillStep], None] | None = None,
    cancel: threading.Event | None = None,
) -> BackfillSummary:
    cancel = cancel or threading.Event()
    made, failed, tried = 0, [], set()
    with (
        http_client(client.ca_bundle, timeout=httpx.Timeout(120.0, connect=10.0)) as s3,
        tempfile.TemporaryDirectory(prefix="lamefair-thumbs-") as folder,
    ):
        while not cancel.is_set():
            # The catalog lists up to a page of missing ones; those that failed stay missing, so
            # a round that brings nothing new ends the pass.
            todo = [d for d in client.missing_thumbnails(proposal) if d["id"] not in tried]
            if not todo:
                break
            for derived in todo:
                if cancel.is_set():
                    break
                tried.add(derived["id"])
                error = _one(client, s3, derived, Path(folder))
                step = BackfillStep(len(tried), derived["bucket"], derived["key"], error)
                made += not error
                if error:
                    failed.append(step)
                if progress is not None:
                    progress(step)
    return BackfillSummary(made, tuple(failed))


def _one(client: CatalogClient, s3: httpx.Client, derived: dict, folder: Path) -> str:
    local = folder / "current.nxs"
    try:
        url = client.presign_keys(derived["bucket"], [derived["key"]])[0]["url"]
        digest = hashlib.sha256()
        with s3.stream("GET", url) as response, local.open("wb") as out:
            if response.status_code != 200:
                return f"the mirror bucket answered {response.status_code} for the NXem"
            for chunk in response.iter_bytes(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != derived["sha256"]:
            return "the stored NXem does not match the SHA-256 the catalog recorded (see fixity)"
        upload_thumbnail(client, s3, str(derived["id"]), render_thumbnail(local))
        return ""
    except (CatalogError, NexusEngineError, httpx.HTTPError, OSError) as exc:
        return str(exc) or exc.__class__.__name__
    finally:
        local.unlink(missing_ok=True)
