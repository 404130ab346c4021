"""Search by acquisition values: `GET /api/search` (domain/search.py reads and answers it)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from lamefair_catalog.domain import search
from lamefair_catalog.domain.search_query import parse_search
from lamefair_catalog.schemas import search as s
from lamefair_catalog.web.dependencies import Cat, Me

router = APIRouter(tags=["search"])


@router.get("/search", response_model=s.SearchPage)
def search_files(request: Request, user: Me, cat: Cat):
    """Derived files by what the microscope did, within the proposals the caller reads.

    Numbers in SI units, as ranges `low..high` (either end open): `voltage`, `magnification`,
    `field_of_view`, `pixel_size`, `dwell_time`, `working_distance`, `camera_length`,
    `stage_tilt`. Also `instrument`, `detector`, `operator`, `proposal` (ids), `element` (each
    repeatable), `from`/`to` (acquisition dates), `valid`, `q` (words in paths, descriptions,
    sample and experiment names), `offset`/`limit`, `facets=false` to skip the counts.
    """
    return search.search(cat, user, parse_search(request.query_params.multi_items()))
