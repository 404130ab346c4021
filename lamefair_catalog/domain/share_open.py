"""Opening a share link, with no account: check it, then a fresh short-lived presigned GET.

Every opening is checked against the database (not revoked, not expired), so revoking works on
the next request; the presigned GET the caller is redirected to lives LAMEFAIR_SHARE_PRESIGN_TTL
(minutes), never the link's own lifetime. A folder link lists its objects with links that go
through this check again. A path below a folder link is cleaned like an uploaded file's path
("..", ".", absolute paths and backslashes refused) and must name an object under the folder:
a link never reaches anything outside what it names. Every use, refused or not, is a row of
`share_uses` for the proposal's owners to read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from sqlalchemy import select

from lamefair_catalog.database.models import ShareLink, ShareUse
from lamefair_catalog.domain.buckets import known_objects
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.errors import CatalogError, NotFound
from lamefair_catalog.domain.shares import SHARE_PATH, state_of, token_hash
from lamefair_catalog.schemas import shares as s
from lamefair_catalog.shared import InvalidName, sanitize_relative_path

log = logging.getLogger("lamefair_catalog.shares")
LISTING_LIMIT = 10_000  # objects one folder listing holds (its `truncated` says when more)


class Gone(CatalogError):
    status = 410


@dataclass(frozen=True)
class Caller:
    address: str
    user_agent: str


@dataclass(frozen=True)
class Redirect:
    url: str


def open_share(
    catalog: Catalog, token: str, path: str, caller: Caller, base_url: str
) -> Redirect | s.SharedFolder:
    with catalog.session() as session:
        link = session.scalar(select(ShareLink).where(ShareLink.token_sha256 == token_hash(token)))
        if link is None:
            log.info("share link refused: unknown token (client=%s)", caller.address)
            raise NotFound("No such share link; check that it was copied whole.")
        state = state_of(link)
        try:
            if state != "active":
                _refuse_stale(link, state)
            key = _key_of(link, path)
            if key is None:
                answer: Redirect | s.SharedFolder = _listing(catalog, link, token, base_url)
                outcome = "listing"
            else:
                if catalog.storage.head(link.bucket, key) is None:
                    raise _Refused(
                        "missing", NotFound(f"{path or key} is not (or no longer) stored.")
                    )
                filename = key.rsplit("/", 1)[-1]
                ttl = catalog.settings.share_presign_ttl
                answer = Redirect(catalog.storage.presign_get(link.bucket, key, filename, ttl).url)
                outcome = "download"
        except _Refused as refused:
            _record(session, link, path, refused.outcome, caller)
            raise refused.error from None
        _record(session, link, key or "", outcome, caller)
        return answer


class _Refused(Exception):
    def __init__(self, outcome: str, error: CatalogError) -> None:
        self.outcome = outcome
        self.error = error


def _refuse_stale(link: ShareLink, state: str) -> None:
    if state == "revoked":
        when = link.revoked_at.strftime("%Y-%m-%d %H:%M UTC")
        raise _Refused(
            "revoked",
            Gone(f"This share link was revoked on {when}; ask whoever sent it for a new one."),
        )
    when = link.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    raise _Refused(
        "expired", Gone(f"This share link expired on {when}; ask whoever sent it for a new one.")
    )


def _key_of(link: ShareLink, path: str) -> str | None:
    """The object a request names: the link's own object, None for a folder's listing, or the
    object `path` names below the folder; `_Refused` for anything else."""
    outside = _Refused("outside", NotFound("This share link does not reach that path."))
    if not link.is_folder:
        if path:
            raise outside
        return link.key
    if not path:
        return None
    try:
        clean = sanitize_relative_path(path, reserved_names=False)
    except InvalidName:
        raise outside from None
    if clean != path.rstrip("/") or path.endswith("/"):
        raise outside
    key = link.key + clean
    if not key.startswith(link.key):  # cannot happen after cleaning; kept as the rule itself
        raise outside
    return key


def _listing(catalog: Catalog, link: ShareLink, token: str, base_url: str) -> s.SharedFolder:
    objects = catalog.storage.list_all(link.bucket, link.key, LISTING_LIMIT + 1)
    truncated = len(objects) > LISTING_LIMIT
    objects = objects[:LISTING_LIMIT]
    known = known_objects(catalog, link.bucket, [o["key"] for o in objects])
    root = base_url.rstrip("/") + SHARE_PATH + token + "/"
    files = []
    for o in objects:
        relative = o["key"][len(link.key) :]
        files.append(
            s.SharedFile(
                path=relative,
                size=o["size"],
                sha256=known.get(o["key"], (None, None))[0],
                url=root + quote(relative),
            )
        )
    return s.SharedFolder(
        folder=link.key.rstrip("/").rsplit("/", 1)[-1],
        note=link.note,
        expires_at=link.expires_at,
        files=files,
        truncated=truncated,
        aria2=aria2_input(files),
    )


def aria2_input(files: list[s.SharedFile]) -> str:
    """The desktop's aria2 format (transfer/download.aria2_manifest): each URL, then `out=`
    and `checksum=sha-256=`. The URLs are the share link's, so aria2 follows each redirect to
    a fresh GET when it reaches that file, however long the list takes."""
    lines = []
    for f in files:
        lines += [f.url, f"  out={f.path}"]
        if f.sha256:
            lines.append(f"  checksum=sha-256={f.sha256}")
    return "\n".join(lines) + "\n" if lines else ""


def _record(session, link: ShareLink, key: str, outcome: str, caller: Caller) -> None:
    session.add(
        ShareUse(
            link_id=link.id,
            at=datetime.now(UTC),
            key=key[:1024],
            outcome=outcome,
            client=caller.address[:64],
            user_agent=caller.user_agent[:256],
        )
    )
    session.commit()
    log.info("share link %s used: %s %s (client=%s)", link.id, outcome, key, caller.address)
