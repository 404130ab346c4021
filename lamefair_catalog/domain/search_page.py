"""The ids of a search's page in page order (newest acquisition first, then by id), read before
their rows (search_hits.py).

Why per proposal on PostgreSQL: `ORDER BY acquired_at DESC ... LIMIT 50` over the matches of the
caller's proposals reads and sorts every match (68,000 for the bench's voltage search: 16-18 ms,
and a word search's scan again), because an index led by `proposal_id` is in date order only
within one proposal. Asked per proposal (LATERAL), that index gives each proposal's newest
entries in order and stops after `offset + limit` of them; the page is the newest of those
(4-6 ms). Files without an acquisition time come last in the page order: when the dated files do
not fill the page, or the page is deep, the plain statement answers.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Uuid, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from lamefair_catalog.database.models import AcquisitionValues
from lamefair_catalog.domain.search_query import SearchQuery

A = AcquisitionValues
PER_PROPOSAL_DEPTH = 1_000  # offset + limit up to which each proposal is asked for its newest


def page_order(source) -> list:
    return [source.c.acquired_at.desc().nulls_last(), source.c.derived_id]


def page_ids(
    session: Session,
    where: list,
    others: list,
    proposals: set[uuid.UUID] | None,
    query: SearchQuery,
) -> list[uuid.UUID]:
    """`where`: every condition; `others`: all but the one on `proposals` (None: every one)."""
    depth = query.offset + query.limit
    if (
        proposals
        and depth <= PER_PROPOSAL_DEPTH
        and session.get_bind().dialect.name == "postgresql"
    ):
        ids = _newest_per_proposal(session, others, proposals, query)
        if len(ids) == query.limit:  # a full page of dated files: the undated ones come after
            return ids
    return list(
        session.scalars(
            select(A.derived_id)
            .where(*where)
            .order_by(*page_order(A.__table__))
            .offset(query.offset)
            .limit(query.limit)
        )
    )


def _newest_per_proposal(
    session: Session, others: list, proposals: set[uuid.UUID], query: SearchQuery
) -> list[uuid.UUID]:
    ids = bindparam(None, sorted(proposals), type_=ARRAY(Uuid), unique=True)
    proposal = func.unnest(ids).table_valued("id").render_derived(name="p")
    newest = (
        select(A.derived_id, A.acquired_at)
        .where(A.proposal_id == proposal.c.id, A.acquired_at.is_not(None), *others)
        .order_by(A.acquired_at.desc(), A.derived_id)
        .limit(query.offset + query.limit)
        .lateral("newest")
    )
    statement = (
        select(newest.c.derived_id)
        .select_from(proposal)
        .join(newest, true())
        .order_by(newest.c.acquired_at.desc(), newest.c.derived_id)
        .offset(query.offset)
        .limit(query.limit)
    )
    return list(session.scalars(statement))
