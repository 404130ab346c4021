"""What fixity found, for people: a check on demand, the problems, a proposal's summary, and the
last result of each object a bucket listing shows.

Who may ask: a check on demand reads the whole object from storage, so it is for operators and
PIs (who upload and look after the data), on objects they may read; anyone who may read a
proposal sees its summary and the last results in its bucket listing; the catalog-wide list of
problems is for PIs (admins).
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from lamefair_catalog.database.models import FixityObject, FixityPass
from lamefair_catalog.domain import fixity
from lamefair_catalog.domain.access import (
    Principal,
    file_chain,
    readable_proposal,
    require_admin,
    require_writer,
)
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.errors import Conflict
from lamefair_catalog.schemas import fixity as s

PROBLEM_RESULTS = (*fixity.PROBLEMS, "error")
MAX_PROBLEMS = 1000


def verify_file(catalog: Catalog, principal: Principal, file_id: uuid.UUID) -> s.CheckOut:
    """Check one raw file now (in the request: it takes as long as reading the object)."""
    require_writer(principal)
    worker = f"{fixity.worker_name()} (verify by {principal.username})"
    with catalog.session() as session:
        row, _ = file_chain(session, principal, file_id)
        if row.state != "stored":
            raise Conflict(f"{row.path} is not stored (state: {row.state}); nothing to verify.")
        fixity.enrol(session, only=row.id)
        target = fixity.find_target(session, "raw", row.id)
        claimed = fixity.try_claim(session, row.id, worker, fixity.lease_for(row.size, None))
        session.commit()
    if target is None:
        raise Conflict(f"{row.path} is not stored any more; nothing to verify.")
    if not claimed:
        raise Conflict(
            f"{row.path} is being verified by another process right now; its result appears "
            "here when that check ends."
        )
    try:
        outcome = fixity.check(catalog, target)
    except BaseException:
        fixity.release(catalog, target)
        raise
    done = fixity.record(catalog, target, outcome, worker)
    return s.CheckOut(
        object_id=target.id,
        kind="raw",
        proposal=target.proposal,
        bucket=target.bucket,
        key=target.key,
        path=target.path,
        result=done.result,
        detail=done.detail,
        expected_sha256=target.sha256,
        actual_sha256=done.actual,
        checked_at=done.checked_at,
    )


def _problems(session, proposal_id: uuid.UUID | None) -> list[s.ProblemOut]:
    query = (
        select(FixityObject)
        .where(FixityObject.last_result.in_(PROBLEM_RESULTS))
        .order_by(FixityObject.last_checked_at.desc())
        .limit(MAX_PROBLEMS)
    )
    if proposal_id is not None:
        query = query.where(FixityObject.proposal_id == proposal_id)
    out = []
    for row in session.scalars(query):
        target = fixity.find_target(session, row.kind, row.id)
        if target is None or row.sha256 != target.sha256:
            continue  # not stored any more, or stored again since: the result is about old bytes
        out.append(
            s.ProblemOut(
                object_id=row.id,
                kind=row.kind,
                proposal_id=row.proposal_id,
                proposal=target.proposal,
                bucket=target.bucket,
                key=target.key,
                path=target.path,
                result=row.last_result,
                detail=row.last_detail,
                checked_at=row.last_checked_at,
            )
        )
    return out


def problems(catalog: Catalog, principal: Principal) -> list[s.ProblemOut]:
    """Objects whose last check found damage or could not read them, newest first."""
    require_admin(principal)
    with catalog.session() as session:
        return _problems(session, None)


def proposal_summary(
    catalog: Catalog, principal: Principal, proposal_id: uuid.UUID
) -> s.ProposalFixityOut:
    with catalog.session() as session:
        readable_proposal(session, principal, proposal_id)
        objects, unchecked, oldest = session.execute(
            select(
                func.count(),
                func.count().filter(FixityObject.last_checked_at.is_(None)),
                func.min(FixityObject.last_checked_at),
            ).where(FixityObject.proposal_id == proposal_id)
        ).one()
        last_pass = session.scalar(
            select(func.max(FixityPass.finished_at)).where(FixityPass.finished_at.is_not(None))
        )
        return s.ProposalFixityOut(
            proposal_id=proposal_id,
            objects=objects,
            unchecked=unchecked,
            all_checked_since=oldest if objects and not unchecked else None,
            last_full_pass=last_pass,
            problems=_problems(session, proposal_id),
        )


def last_results(session, ids_to_sha: dict[uuid.UUID, str]) -> dict[uuid.UUID, FixityObject]:
    """The fixity rows of these objects whose last check was about their current bytes."""
    if not ids_to_sha:
        return {}
    rows = session.scalars(
        select(FixityObject).where(
            FixityObject.id.in_(list(ids_to_sha)), FixityObject.last_checked_at.is_not(None)
        )
    )
    return {row.id: row for row in rows if row.sha256 == ids_to_sha[row.id]}
