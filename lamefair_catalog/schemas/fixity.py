"""Bodies of the fixity routes: one check, the problems, a proposal's summary."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel

Result = Literal["ok", "mismatch", "missing", "error"]


class CheckOut(BaseModel):
    object_id: uuid.UUID
    kind: Literal["raw", "derived"]
    proposal: str  # project slug / proposal number
    bucket: str
    key: str
    path: str
    result: Result
    detail: str
    expected_sha256: str
    actual_sha256: str
    checked_at: dt.datetime


class ProblemOut(BaseModel):
    object_id: uuid.UUID
    kind: Literal["raw", "derived"]
    proposal_id: uuid.UUID
    proposal: str
    bucket: str
    key: str
    path: str
    result: Result
    detail: str
    checked_at: dt.datetime | None


class ProposalFixityOut(BaseModel):
    proposal_id: uuid.UUID
    objects: int  # stored objects the fixity queue holds for this proposal
    unchecked: int
    # Every object of the proposal was checked at or after this time (None while one is unchecked).
    all_checked_since: dt.datetime | None
    # The latest full pass over the whole catalog that has finished.
    last_full_pass: dt.datetime | None
    problems: list[ProblemOut]
