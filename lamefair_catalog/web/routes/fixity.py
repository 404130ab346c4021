"""Routes of fixity: a check on demand, the catalog's problems, a proposal's summary."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from lamefair_catalog.domain import fixity_report
from lamefair_catalog.schemas import fixity as s
from lamefair_catalog.web.dependencies import Cat, Me

router = APIRouter(tags=["fixity"])


@router.post("/files/{file_id}/verify", response_model=s.CheckOut)
def verify_file(file_id: uuid.UUID, user: Me, cat: Cat):
    """Re-read the stored object now and compare its SHA-256 with the recorded one (operators
    and PIs). A damaged object is a 200 with `result` "mismatch" or "missing"."""
    return fixity_report.verify_file(cat, user, file_id)


@router.get("/fixity/problems", response_model=list[s.ProblemOut])
def problems(user: Me, cat: Cat):
    """Objects whose last check found them damaged, missing or unreadable (PIs only)."""
    return fixity_report.problems(cat, user)


@router.get("/proposals/{proposal_id}/fixity", response_model=s.ProposalFixityOut)
def proposal_fixity(proposal_id: uuid.UUID, user: Me, cat: Cat):
    """How far fixity checks cover a proposal's objects, and its problems (its readers)."""
    return fixity_report.proposal_summary(cat, user, proposal_id)
