"""SHA-256 of files and byte ranges, through one reused buffer (memory stays flat)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

CHUNK = 1024 * 1024


def sha256_of(
    path: Path,
    *,
    offset: int = 0,
    length: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Hex SHA-256 of `path` (or of `length` bytes from `offset`); `progress(n)` after each read."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    remaining = length
    with open(path, "rb", buffering=0) as handle:
        handle.seek(offset)
        while remaining is None or remaining > 0:
            want = CHUNK if remaining is None else min(CHUNK, remaining)
            count = handle.readinto(view[:want])
            if not count:
                break
            digest.update(view[:count])
            if remaining is not None:
                remaining -= count
            if progress is not None:
                progress(count)
    return digest.hexdigest()
