"""Routes of thumbnails: upload one beside a derived NXem, fetch it, list those still missing."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse

from lamefair_catalog.domain import thumbnails
from lamefair_catalog.schemas import thumbnails as s
from lamefair_catalog.schemas import transfers as t
from lamefair_catalog.schemas.fields import Line
from lamefair_catalog.web.dependencies import Cat, Me

router = APIRouter(tags=["thumbnails"])


@router.post("/derived/{derived_id}/thumbnail", response_model=s.ThumbnailUpload)
def start_thumbnail(derived_id: uuid.UUID, body: s.ThumbnailIn, user: Me, cat: Cat):
    """A presigned PUT for the PNG beside the NXem (`img.nxs` -> `img.thumb.png`)."""
    return thumbnails.start_thumbnail(cat, user, derived_id, body)


@router.post("/derived/{derived_id}/thumbnail/complete", response_model=t.DerivedOut)
def complete_thumbnail(derived_id: uuid.UUID, user: Me, cat: Cat):
    """Checks the PNG in the mirror bucket (size, SHA-256) and records it."""
    return thumbnails.complete_thumbnail(cat, user, derived_id)


@router.get(
    "/derived/{derived_id}/thumbnail",
    status_code=307,
    responses={307: {"description": "a short-lived GET of the PNG"}},
)
def get_thumbnail(derived_id: uuid.UUID, user: Me, cat: Cat):
    return RedirectResponse(thumbnails.thumbnail_url(cat, user, derived_id), status_code=307)


@router.get("/thumbnails/missing", response_model=list[t.DerivedOut])
def missing_thumbnails(
    user: Me,
    cat: Cat,
    proposal: Annotated[str | None, Query(max_length=200), Line] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
):
    """Stored NXem files without a thumbnail of their current bytes (`lamefair thumbnails`)."""
    return thumbnails.missing_thumbnails(cat, user, proposal, limit)
