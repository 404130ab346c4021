"""The whole HTTP API under /api: the routers of routes/, in the order OpenAPI lists them."""

from __future__ import annotations

from fastapi import APIRouter

from lamefair_catalog.schemas.service import ErrorOut
from lamefair_catalog.web.routes import (
    buckets,
    fixity,
    hierarchy,
    search,
    service,
    shares,
    thumbnails,
    transfers,
)

ERRORS = {code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422, 503)}

router = APIRouter(prefix="/api", responses=ERRORS)
for part in (service, hierarchy, transfers, buckets, fixity, shares, thumbnails, search):
    router.include_router(part.router)
