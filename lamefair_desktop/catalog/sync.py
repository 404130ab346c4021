"""The local catalog cache, kept current from `/api/changes`, and the offline outbox (no Qt).

The tree shows instantly and while offline from this cache. Creating a sample or experiment while
the server is unreachable is recorded in the outbox with a client-generated id and shown in the
cache as pending; `push()` sends it when the server is back (creates are idempotent on the id). A
409 on replay is kept as a conflict with the server's message, for the user to see, never dropped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lamefair_desktop.catalog.client import CatalogClient, CatalogError, CatalogUnreachable
from lamefair_desktop.home.tables import CachedEntity, DerivedRow, OutboxRow, SyncState, now

# entity kind -> (API collection, field naming the parent)
KINDS = {
    "project": ("projects", None),
    "proposal": ("proposals", "project"),
    "sample": ("samples", "proposal"),
    "experiment": ("experiments", "sample"),
    "measurement": ("measurements", "experiment"),
    "file": (None, "measurement"),
}
OFFLINE_KINDS = ("sample", "experiment")


@dataclass(frozen=True)
class Node:
    """A cached entity as a plain value for models and the CLI."""

    kind: str
    id: str
    parent_id: str | None
    name: str
    data: dict
    pending: bool


@dataclass(frozen=True)
class OutboxItem:
    id: str
    kind: str
    body: dict
    state: str
    error: str
    field: str
    existing_id: str


def _name(kind: str, data: dict) -> str:
    if kind == "proposal":
        return str(data.get("number", ""))
    if kind == "measurement":
        return str(data.get("slug", ""))
    if kind == "file":
        return str(data.get("path", ""))
    return str(data.get("name", ""))


class CatalogCache:
    def __init__(self, sessions: sessionmaker[Session], server: str) -> None:
        self.sessions = sessions
        self.server = server.rstrip("/")

    def last_rev(self) -> int:
        with self.sessions() as session:
            state = session.get(SyncState, self.server)
            return state.last_rev if state else 0

    def put(self, session: Session, kind: str, data: dict, pending: bool = False) -> None:
        parent_field = KINDS[kind][1]
        parent = str(data.get(parent_field)) if parent_field and data.get(parent_field) else None
        row = session.get(CachedEntity, (self.server, str(data["id"])))
        if row is None:
            row = CachedEntity(server=self.server, id=str(data["id"]))
            session.add(row)
        row.kind, row.parent_id, row.name = kind, parent, _name(kind, data)
        row.data, row.pending = data, int(pending)
        if kind == "measurement":
            for file in data.get("files", []):
                self.put(session, "file", file)

    def apply(self, changes: list[dict], last_rev: int) -> None:
        with self.sessions() as session:
            for change in changes:
                if change["entity"] in KINDS:
                    self.put(session, change["entity"], change["data"])
                elif change["entity"] == "derived":
                    learn_server_verdict(session, change["data"])
                    self._refresh_derived(session, change["data"])
            state = session.get(SyncState, self.server) or SyncState(server=self.server)
            state.last_rev = max(last_rev, state.last_rev or 0)
            session.merge(state)
            session.commit()

    def _refresh_derived(self, session: Session, derived: dict) -> None:
        """The cached file's record of its derived file as the feed now says (a stored NXem, its
        thumbnail): the tree's hover and the details pane read it from there."""
        row = session.get(CachedEntity, (self.server, str(derived.get("source_file"))))
        if row is None or row.kind != "file":
            return
        others = [d for d in row.data.get("derived") or [] if d.get("id") != derived.get("id")]
        row.data = {**row.data, "derived": [*others, derived]}  # a new dict: JSON columns

    def children(self, kind: str, parent_id: str | None = None) -> list[Node]:
        with self.sessions() as session:
            query = select(CachedEntity).where(
                CachedEntity.server == self.server, CachedEntity.kind == kind
            )
            if parent_id is not None:
                query = query.where(CachedEntity.parent_id == parent_id)
            rows = session.scalars(query.order_by(CachedEntity.name))
            return [Node(r.kind, r.id, r.parent_id, r.name, r.data, bool(r.pending)) for r in rows]

    def child_counts(self, parent_ids: list[str]) -> dict[str, int]:
        """How many cached children each of these entities has (for labels such as "3")."""
        if not parent_ids:
            return {}
        with self.sessions() as session:
            rows = session.execute(
                select(CachedEntity.parent_id, func.count())
                .where(CachedEntity.server == self.server, CachedEntity.parent_id.in_(parent_ids))
                .group_by(CachedEntity.parent_id)
            ).all()
            return dict(rows)

    def get(self, entity_id: str) -> Node | None:
        with self.sessions() as session:
            r = session.get(CachedEntity, (self.server, entity_id))
            return Node(r.kind, r.id, r.parent_id, r.name, r.data, bool(r.pending)) if r else None


def learn_server_verdict(session: Session, derived: dict) -> DerivedRow | None:
    """The catalog's FAIRmat verdict on a derived file (a change-feed entry) onto the conversion
    queue's row of its source file (the NXem column); None if there is no such row here, the
    catalog has not judged it yet, or it judged other bytes than the derived file now recorded
    here. The caller's transaction commits it."""
    if derived.get("server_checked_at") is None:
        return None
    row = session.get(DerivedRow, str(derived.get("source_file")))
    if row is None:
        return None
    if row.output_sha256 and derived.get("sha256") != row.output_sha256:
        # About other bytes: the file was converted again here since (the change feed can bring
        # the verdict on the old ones after that); "" is a job from before the hash was kept,
        # which takes the verdict as it always did.
        return None
    row.server_valid = derived.get("server_valid")
    row.server_validator = derived.get("server_validator") or ""
    row.server_report = derived.get("server_report") or ""
    row.updated_at = now()
    return row


class Sync:
    def __init__(self, client: CatalogClient, sessions: sessionmaker[Session]) -> None:
        self.client = client
        self.sessions = sessions
        self.cache = CatalogCache(sessions, client.catalog_key)

    def pull(self, page: int = 1000) -> int:
        """Apply every change since the last one seen; returns how many were applied."""
        applied = 0
        while True:
            since = self.cache.last_rev()
            feed = self.client.changes(since, page)
            self.cache.apply(feed["changes"], feed["last_rev"])
            applied += len(feed["changes"])
            if len(feed["changes"]) < page:
                return applied

    def create(self, kind: str, body: dict) -> Node:
        """Create online when possible, else record it in the outbox (shown as pending)."""
        collection = KINDS[kind][0]
        body = {"id": str(uuid.uuid4()), **body}
        try:
            created = self.client.post(f"/api/{collection}", body)
        except CatalogUnreachable:
            if kind not in OFFLINE_KINDS:
                raise
            with self.sessions() as session:
                session.add(
                    OutboxRow(
                        id=body["id"],
                        server=self.client.catalog_key,
                        kind=kind,
                        body=body,
                        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    )
                )
                self.cache.put(session, kind, body, pending=True)
                session.commit()
            return self.cache.get(body["id"])
        with self.sessions() as session:
            self.cache.put(session, kind, created)
            session.commit()
        return self.cache.get(created["id"])

    def update(self, kind: str, entity_id: str, changes: dict) -> Node:
        """Edit an entity. Online the catalog decides (409/422 come back as CatalogError); an
        entity still waiting in the outbox is edited there, before it is ever sent."""
        with self.sessions() as session:
            queued = session.get(OutboxRow, entity_id)
            if queued is not None and queued.state in ("pending", "conflict"):
                queued.body = {**queued.body, **changes}
                queued.state, queued.error, queued.field = "pending", "", ""
                self.cache.put(session, kind, queued.body, pending=True)
                session.commit()
                return self.cache.get(entity_id)
        collection = KINDS[kind][0]
        updated = self.client.patch(f"/api/{collection}/{entity_id}", changes)
        with self.sessions() as session:
            self.cache.put(session, kind, updated)
            session.commit()
        return self.cache.get(entity_id)

    def outbox(self, states: tuple[str, ...] = ("pending", "conflict")) -> list[OutboxItem]:
        with self.sessions() as session:
            rows = session.scalars(
                select(OutboxRow)
                .where(OutboxRow.server == self.client.catalog_key, OutboxRow.state.in_(states))
                .order_by(OutboxRow.created_at)
            )
            return [
                OutboxItem(r.id, r.kind, r.body, r.state, r.error, r.field, r.existing_id)
                for r in rows
            ]

    def push(self) -> list[OutboxItem]:
        """Send pending creates in order; stops at the first network failure (kept for later)."""
        results = []
        for item in self.outbox(("pending",)):
            collection = KINDS[item.kind][0]
            try:
                created = self.client.post(f"/api/{collection}", item.body)
            except CatalogUnreachable:
                break
            except CatalogError as exc:
                with self.sessions() as session:
                    row = session.get(OutboxRow, item.id)
                    row.state, row.error = "conflict", exc.detail
                    row.field, row.existing_id = exc.field or "", exc.existing_id or ""
                    session.commit()
                results.append(self._item(item.id))
                continue
            with self.sessions() as session:
                row = session.get(OutboxRow, item.id)
                row.state, row.error = "sent", ""
                self.cache.put(session, item.kind, created)
                session.commit()
            results.append(self._item(item.id))
        return results

    def discard(self, outbox_id: str) -> None:
        """The user gave up a conflicting offline create: drop it and its pending cache row."""
        with self.sessions() as session:
            row = session.get(OutboxRow, outbox_id)
            if row is not None:
                session.delete(row)
            cached = session.get(CachedEntity, (self.client.catalog_key, outbox_id))
            if cached is not None and cached.pending:
                session.delete(cached)
            session.commit()

    def _item(self, outbox_id: str) -> OutboxItem:
        with self.sessions() as session:
            r = session.get(OutboxRow, outbox_id)
            return OutboxItem(r.id, r.kind, r.body, r.state, r.error, r.field, r.existing_id)


def describe(item: OutboxItem) -> str:
    name = item.body.get("name", item.id)
    if item.state == "conflict":
        return f"{item.kind} {name!r} was not created: {item.error}"
    return f"{item.kind} {name!r}: {item.state}"
