"""The change feed: every write appends a row in its own transaction; clients poll `since=rev`.

Admins and operators see every change; readers see the changes of the proposals they are members
of, and every project change.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from lamefair_catalog.database.models import Change
from lamefair_catalog.domain.access import Principal, visible_proposal_ids
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.schemas.service import ChangeOut, ChangesOut

# An arbitrary constant: the PostgreSQL advisory lock that orders change-feed inserts.
CHANGE_FEED_LOCK = 0x1A3EFA1


def record_change(
    session: Session,
    entity: str,
    entity_id: uuid.UUID,
    op: str,
    proposal_id: uuid.UUID | None,
    data: Any,
) -> None:
    """Append to the change feed inside the caller's transaction.

    On PostgreSQL a transaction-scoped advisory lock makes revs commit in the order they are
    handed out, so a reader polling `since=rev` can never skip a row committed late.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGE_FEED_LOCK})
    payload = data.model_dump(mode="json") if hasattr(data, "model_dump") else data
    session.add(
        Change(entity=entity, entity_id=entity_id, op=op, proposal_id=proposal_id, data=payload)
    )


def changes(catalog: Catalog, principal: Principal, since: int, limit: int) -> ChangesOut:
    with catalog.session() as session:
        query = select(Change).where(Change.rev > since).order_by(Change.rev).limit(limit)
        visible = visible_proposal_ids(session, principal)
        if visible is not None:
            query = query.where(
                Change.proposal_id.in_(visible or [None]) | (Change.entity == "project")
            )
        rows = list(session.scalars(query))
        # Never past the last row returned: asking for the newest rev in a second statement
        # (as this did when no row was found) sees a commit the first one did not, and the
        # reader then skips that row for good (tests/facility/test_change_feed.py).
        last = rows[-1].rev if rows else since
        return ChangesOut(
            changes=[
                ChangeOut(rev=r.rev, entity=r.entity, id=r.entity_id, op=r.op, data=r.data)
                for r in rows
            ],
            last_rev=last,
        )
