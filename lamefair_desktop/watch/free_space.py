"""Before "free space after verified upload" deletes an operator's file: prove the bytes on disk
are the bytes the catalog holds (no Qt).

Deleting is the one thing lamefair does that cannot be undone, so any doubt keeps the file:
  * it changed since it was taken (size or mtime differ from the ledger): it is taken again as a
    new version instead;
  * the catalog cannot be asked (offline, signed out): asked again on a later scan;
  * the catalog does not say `stored` with the ledger's SHA-256;
  * the file, read again and hashed right now, is not the catalog's SHA-256 (rewritten in
    place with its old mtime, a failing disk), or it changed while being hashed.
The catalog is asked before the file is hashed, so an offline catalog costs no disk reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lamefair_desktop.catalog.client import CatalogClient, CatalogError
from lamefair_desktop.hashing import sha256_of


@dataclass(frozen=True)
class Verdict:
    """`delete` only when every check passed; otherwise `reason` says why the file stays, and
    `final` whether asking again could change that (False: try on a later scan)."""

    delete: bool
    reason: str = ""
    final: bool = False


def _fingerprint(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_size, stat.st_mtime_ns


def check_before_delete(
    path: Path, size: int, mtime_ns: int, sha256: str, file_id: str, client: CatalogClient
) -> Verdict:
    """May `path` (taken as `size`/`mtime_ns`/`sha256`, catalog file `file_id`) be deleted?"""
    try:
        before = path.stat()
    except OSError as exc:
        return Verdict(False, f"it cannot be read ({exc.strerror or exc})")
    if _fingerprint(before) != (size, mtime_ns):
        return Verdict(
            False, "it changed since it was uploaded (it is taken again as a new version)"
        )
    try:
        remote = client.get_file(file_id)
    except CatalogError as exc:
        return Verdict(False, f"the catalog could not confirm it ({exc}); asked again later")
    if remote.get("state") != "stored":
        return Verdict(False, f"the catalog says it is {remote.get('state')!s}, not stored")
    if remote.get("sha256") != sha256:
        return Verdict(False, "the catalog holds other bytes under its name", final=True)
    try:
        local = sha256_of(path)
        after = path.stat()
    except OSError as exc:
        return Verdict(False, f"it could not be read again ({exc.strerror or exc})")
    if _fingerprint(after) != _fingerprint(before):
        return Verdict(False, "it changed while it was being checked")
    if local != remote["sha256"]:
        return Verdict(
            False,
            "its content now differs from the stored copy (SHA-256), though its size and "
            "modification time did not change",
            final=True,
        )
    return Verdict(True)
