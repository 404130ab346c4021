"""The source file as an upload reads it: each byte read once, and any change while it is sent caught.

- Small files (one PUT) are read whole into memory and hashed there; the PUT sends that buffer, so
  the SHA-256 the catalog signs is the SHA-256 of exactly the bytes sent.
- Before the first byte is read and after the last is sent the file is looked at (size, mtime
  and ctime, inode): a write in between, even one that puts the mtime back, changes the ctime, and
  the upload fails instead of storing a blend of old and new bytes under either's SHA-256.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from lamefair_desktop.transfer.errors import SourceChanged
from lamefair_desktop.transfer.queue import QueuedFile
from lamefair_desktop.transfer.s3_requests import read_into

# Files up to this size are read whole before their plan is asked (the plan signs their SHA-256).
# The catalog's default multipart threshold: a file above it goes in parts anyway.
PREREAD_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class Snapshot:
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int


@dataclass(frozen=True)
class Preread:
    """A small file's bytes, their SHA-256, and how the file looked before they were read."""

    data: memoryview
    sha256: str
    before: Snapshot


def snapshot(item: QueuedFile) -> Snapshot:
    """How the source looks now; SourceChanged if it is gone or not what was queued."""
    try:
        stat = os.stat(item.local_path)
    except FileNotFoundError:
        raise SourceChanged(
            f"{item.local_path} was deleted after it was queued; nothing was stored for it. "
            "Add the file again if it still exists elsewhere."
        ) from None
    if (stat.st_size, stat.st_mtime_ns) != (item.size, item.mtime_ns):
        raise SourceChanged(
            f"{item.local_path} changed after it was queued (size or modification time); "
            "nothing was stored for it. Add it again as a new measurement."
        )
    return Snapshot(stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def still_unchanged(item: QueuedFile, before: Snapshot) -> None:
    """SourceChanged if the file was written (or replaced) since `before`."""
    if snapshot(item) != before:
        raise SourceChanged(
            f"{item.local_path} was written to while it was being sent; nothing was stored "
            "for it. Add it again as a new measurement once it is complete."
        )


def preread(item: QueuedFile, into: memoryview | None = None) -> Preread:
    """The whole file in memory with its SHA-256 (for files up to PREREAD_LIMIT), read into the
    start of `into` when given (a reused buffer: batches.py) or into a buffer of its own."""
    before = snapshot(item)
    data = into[: item.size] if into is not None else memoryview(bytearray(item.size))
    read_into(item.local_path, 0, data)
    digest = hashlib.sha256(data).hexdigest()
    if item.sha256 and digest != item.sha256:
        raise SourceChanged(
            f"{item.local_path} reads differently than when it was registered (SHA-256); "
            "nothing was stored for it. Add it again as a new measurement."
        )
    return Preread(data, digest, before)
