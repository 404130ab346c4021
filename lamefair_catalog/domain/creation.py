"""The create protocol every entity shares: idempotent on a client-supplied id, 409 on duplicates.

Same id and same content again: 200 with the existing row (a retry after a lost response). Same id,
other content: 409. Unique names are enforced by database constraints, so racing creates resolve
to one winner and 409s, never a 500.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lamefair_catalog.domain.change_feed import record_change
from lamefair_catalog.domain.errors import CatalogError, Conflict

Created = tuple[Any, bool]  # (the row as an API model, True when this call created it)
Replay = Callable[[Any], Any]  # an existing row -> its API model, or Conflict


def different_content(entity: str, row_id: uuid.UUID) -> Conflict:
    return Conflict(
        f"A {entity} with id {row_id} already exists with different content.",
        existing_id=str(row_id),
    )


def replay_if_same(entity: str, to_out: Callable[[Any], Any], compare: dict[str, Any]) -> Replay:
    """A replay that answers with the existing row when its API model has `compare`'s values."""

    def replay(existing: Any) -> Any:
        out = to_out(existing)
        current = out.model_dump()
        if any(current.get(key) != value for key, value in compare.items()):
            raise different_content(entity, existing.id)
        return out

    return replay


def replayed(
    session: Session, model: type, requested_id: uuid.UUID | None, replay: Replay
) -> Created | None:
    """The answer to a repeated create, or None when no row has the requested id."""
    if requested_id is None:
        return None
    existing = session.get(model, requested_id)
    return None if existing is None else (replay(existing), False)


def insert_once(
    session: Session,
    row: Any,
    *,
    requested_id: uuid.UUID | None,
    to_out: Callable[[Any], Any],
    entity: str,
    proposal_id: uuid.UUID | None,
    replay: Replay,
    conflict: Callable[[Session], CatalogError],
) -> Created:
    """Insert `row` and its change-feed entry in one commit. A constraint that refuses it means
    the same create raced itself (answered by `replay`) or a duplicate (`conflict`)."""
    session.add(row)
    try:
        session.flush()
        out = to_out(row)
        record_change(session, entity, row.id, "create", proposal_id, out)
        session.commit()
    except IntegrityError:
        session.rollback()
        again = replayed(session, type(row), requested_id, replay)
        if again is not None:
            return again
        raise conflict(session) from None
    return out, True


def create_entity(
    session: Session,
    *,
    model: type,
    requested_id: uuid.UUID | None,
    build: Callable[[uuid.UUID], Any],
    to_out: Callable[[Any], Any],
    compare: dict[str, Any],
    entity: str,
    proposal_id: Callable[[uuid.UUID], uuid.UUID | None],
    find_duplicate: Callable[[Session], Any],
    duplicate_message: str,
    duplicate_field: str = "name",
) -> Created:
    """The protocol for the hierarchy's entities, whose duplicates are names taken.

    `proposal_id` gets the new row's id (a proposal is its own proposal)."""
    replay = replay_if_same(entity, to_out, compare)
    done = replayed(session, model, requested_id, replay)
    if done is not None:
        return done
    new_id = requested_id or uuid.uuid4()

    def conflict(session: Session) -> Conflict:
        duplicate = find_duplicate(session)
        return Conflict(
            duplicate_message,
            field=duplicate_field,
            existing_id=str(duplicate.id) if duplicate else None,
        )

    return insert_once(
        session,
        build(new_id),
        requested_id=requested_id,
        to_out=to_out,
        entity=entity,
        proposal_id=proposal_id(new_id),
        replay=replay,
        conflict=conflict,
    )
