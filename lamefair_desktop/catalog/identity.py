"""Which catalog a queued row belongs to: the catalog's own id, not the address it answered at (no
Qt).

The local catalog starts on a new random port every time, and a lab server may move to a new
host name: rows filed under a URL were lost to the next start (an interrupted upload stayed
"queued, 0 %", watch rules vanished). So every row that belongs to one catalog (uploads, derived
jobs, watch rules, outbox, sync cache) is filed under the `catalog_id` that `/api/health`
reports; the catalog keeps that id in its database, the same for every server process and
address.

On connecting, `identify()` asks the catalog for its id (one quick request) and remembers it for
that URL, so an offline start still files work under the right id. When neither is known (never
reached, or a catalog too old to say) rows are filed under the URL, as before.

Rows filed under a URL (written before this version, or while the id was unknown) join a catalog
once it is proven they are its own:
  * the URL is the one that catalog answers at now, or
  * the catalog knows one of the group's entities (a file, an experiment, a cached entity): ids
    are random UUIDs chosen for that catalog, so a match is proof the old URL was this catalog
    (the old local catalog's random port, a server that moved).
Until then they stay as they are, are listed by `lamefair queue`, and are looked at again at the
next connection: never dropped, never given to a catalog that cannot vouch for them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from lamefair_desktop.catalog.client import (
    CatalogClient,
    CatalogError,
    CatalogUnreachable,
    SignInRequired,
)
from lamefair_desktop.catalog.sync import KINDS
from lamefair_desktop.home.tables import (
    CachedEntity,
    CatalogAddress,
    DerivedRow,
    OutboxRow,
    SyncState,
    UploadRow,
    WatchRuleRow,
)

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 5.0  # seconds: connecting must not hang on a dead network (the id is cached)
MAX_EVIDENCE = 3  # entities asked about per unclaimed URL, per connection


# Every table whose `server` column says which catalog a row belongs to.
_OWNED = (UploadRow, DerivedRow, WatchRuleRow, OutboxRow)


def _is_url(key: str) -> bool:
    return "://" in key


def probe(client: CatalogClient) -> str | None:
    """The id the catalog reports, or None (unreachable, or a catalog too old to have one)."""
    try:
        response = client.http.get("/api/health", timeout=PROBE_TIMEOUT)
        # 503 too: a catalog whose storage is down still knows who it is.
        if response.status_code in (200, 503):
            return response.json().get("catalog_id") or None
    except (httpx.HTTPError, ValueError, AttributeError):
        pass
    return None


def identify(client: CatalogClient, sessions: sessionmaker[Session]) -> str:
    """Learn the catalog's id (or recall it), file URL-keyed rows it can claim under it, and set
    `client.catalog_id`. Returns the key rows of this catalog are filed under."""
    catalog_id = probe(client)
    with sessions() as session:
        if catalog_id is None:
            known = session.get(CatalogAddress, client.base_url)
            client.catalog_id = known.catalog_id if known else None
            return client.catalog_key
        # One statement, not get-then-insert: several processes connect at once (three
        # `lamefair upload` started together) and the losers of a read-then-write race died on
        # the primary key.
        seen_at = datetime.now(UTC).isoformat(timespec="seconds")
        session.execute(
            sqlite_insert(CatalogAddress)
            .values(url=client.base_url, catalog_id=catalog_id, seen_at=seen_at)
            .on_conflict_do_update(
                index_elements=[CatalogAddress.url],
                set_={"catalog_id": catalog_id, "seen_at": seen_at},
            )
        )
        session.commit()
    client.catalog_id = catalog_id
    for url in unclaimed_urls(sessions):
        if url == client.base_url or _vouches(client, sessions, url):
            rekey(sessions, url, catalog_id)
            log.info("rows filed under %s now belong to catalog %s", url, catalog_id)
    return client.catalog_key


def unclaimed_urls(sessions: sessionmaker[Session]) -> list[str]:
    """Every URL some row is still filed under."""
    keys: set[str] = set()
    with sessions() as session:
        for table in (*_OWNED, CachedEntity, SyncState):
            keys.update(session.scalars(select(table.server).distinct()))
    return sorted(k for k in keys if _is_url(k))


def _evidence(session: Session, url: str) -> list[tuple[str, str]]:
    """(API path, entity) pairs a catalog can only answer if the rows of `url` are its own."""
    found: list[tuple[str, str]] = []
    for table in (UploadRow, DerivedRow):
        for file_id in session.scalars(
            select(table.file_id).where(table.server == url).limit(MAX_EVIDENCE)
        ):
            found.append(("/api/files", file_id))
    for experiment_id in session.scalars(
        select(WatchRuleRow.experiment_id)
        .where(WatchRuleRow.server == url, WatchRuleRow.experiment_id != "")
        .limit(MAX_EVIDENCE)
    ):
        found.append(("/api/experiments", experiment_id))
    for kind, entity_id in session.execute(
        select(CachedEntity.kind, CachedEntity.id)
        .where(CachedEntity.server == url, CachedEntity.pending == 0)
        .limit(MAX_EVIDENCE)
    ):
        collection = KINDS[kind][0] or "files"
        found.append((f"/api/{collection}", entity_id))
    return found[:MAX_EVIDENCE]


def _vouches(client: CatalogClient, sessions: sessionmaker[Session], url: str) -> bool:
    with sessions() as session:
        evidence = _evidence(session, url)
    for path, entity_id in evidence:
        try:
            client.get(f"{path}/{entity_id}")
            return True
        except (SignInRequired, CatalogUnreachable):
            return False  # cannot ask now: the next connection asks again
        except CatalogError:
            continue  # not known here (or not visible to us): no proof
    return False


def rekey(sessions: sessionmaker[Session], url: str, catalog_id: str) -> None:
    """File every row of `url` under `catalog_id`, in one transaction."""
    with sessions() as session:
        for table in _OWNED:
            session.execute(update(table).where(table.server == url).values(server=catalog_id))
        _rekey_cache(session, url, catalog_id)
        session.commit()


def _rekey_cache(session: Session, url: str, catalog_id: str) -> None:
    """The cache is only a copy of the catalog: where the id already has its own, that one is
    newer and the URL's copy goes, except what was created offline and is not sent yet."""
    if session.get(SyncState, catalog_id) is not None:
        session.execute(
            delete(CachedEntity).where(CachedEntity.server == url, CachedEntity.pending == 0)
        )
        session.execute(delete(SyncState).where(SyncState.server == url))
    else:
        session.execute(update(SyncState).where(SyncState.server == url).values(server=catalog_id))
    clash = select(CachedEntity.id).where(CachedEntity.server == catalog_id)
    session.execute(
        delete(CachedEntity).where(CachedEntity.server == url, CachedEntity.id.in_(clash))
    )
    session.execute(
        update(CachedEntity).where(CachedEntity.server == url).values(server=catalog_id)
    )
