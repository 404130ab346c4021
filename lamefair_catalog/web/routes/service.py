"""Service routes: health, how to sign in, who the caller is, the change feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from lamefair_catalog.domain import change_feed
from lamefair_catalog.schemas import service as s
from lamefair_catalog.web.dependencies import Cat, Me

router = APIRouter(tags=["service"])

MAX_REV = 2**63 - 1  # revisions are 64-bit integers in every database we support


@router.get("/health", response_model=s.HealthOut)
async def health(request: Request, response: Response) -> s.HealthOut:
    """Liveness for operators and the desktop: version, database, storage, how to sign in.

    Answers within a few seconds whatever the dependencies do: 503 (status "degraded") when the
    database or storage is down or not answering, with what is wrong in `database` / `storage`.
    Async on purpose: waiting for a hung dependency must not take a worker thread.
    """
    out = await request.app.state.health()
    if out.status != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return out


@router.get("/auth-config", response_model=s.AuthConfig)
def auth_config(request: Request) -> s.AuthConfig:
    return request.app.state.auth_config()


@router.get("/me", response_model=s.MeOut)
def me(user: Me) -> s.MeOut:
    return s.MeOut(username=user.username, groups=sorted(user.groups), roles=user.roles)


@router.get("/changes", response_model=s.ChangesOut)
def changes(
    user: Me,
    cat: Cat,
    since: Annotated[int, Query(ge=0, le=MAX_REV)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> s.ChangesOut:
    return change_feed.changes(cat, user, since, limit)
