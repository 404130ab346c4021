"""How a download judges storage's answer to a GET, shared by the one-stream path (download.py)
and the parallel ranges (ranged_download.py): the exceptions of downloads, an expired presigned
URL told apart from a refusal, and the stored object's size as storage states it.

The size check is what turns "someone replaced the object" into StoredCopyChanged before a byte
is kept: every answer (200, 206, 416) states the whole object's length, and a length other than
the catalog's means other bytes.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx


class DownloadError(Exception):
    """A download could not finish; the message says what to do (the partial file is kept)."""


class StoredCopyChanged(DownloadError):
    """Storage holds other bytes (or another length) than the catalog recorded at upload.

    Someone changed the object behind lamefair's back; asking again fetches the same wrong bytes,
    so this is never retried and the partial file is removed.
    """


class Expired(Exception):
    """The presigned URL outlived its validity: ask the catalog for a fresh one."""


def judge(
    response: httpx.Response,
    size: int | None,
    label: str,
    changed: Callable[[], StoredCopyChanged],
) -> None:
    """Raise for an answer whose bytes must not be kept: an expired URL (Expired), a refusal,
    an object of another length than the catalog's (`changed()`)."""
    if response.status_code == 403:
        response.read()
        if "expired" in response.text.lower():
            raise Expired
        raise DownloadError(f"{label}: storage refused the download (403).")
    stored = stored_size(response)
    if size is not None and stored is not None and stored != size:
        raise changed()


def stored_size(response: httpx.Response) -> int | None:
    """The whole object's size as storage states it: `Content-Range: bytes a-b/N` (206, 416) or
    the length of a full answer (200); None when it does not say."""
    content_range = response.headers.get("content-range", "")
    total = content_range.rpartition("/")[2]
    if total.isdigit():
        return int(total)
    length = response.headers.get("content-length", "")
    if response.status_code == 200 and length.isdigit():
        return int(length)
    return None
