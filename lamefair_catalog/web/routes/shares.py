"""Routes of share links: make, list, revoke, uses (signed in); open (no account, `/s/<token>`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse

from lamefair_catalog.domain import share_open, shares
from lamefair_catalog.schemas import shares as s
from lamefair_catalog.web.dependencies import Cat, Me

router = APIRouter(tags=["shares"])


@router.post("/shares", response_model=s.ShareCreated, status_code=201)
def create_share(body: s.ShareIn, user: Me, cat: Cat, request: Request):
    """A link to an object or a folder that anyone holding it may open without an account,
    until it expires (`expires_in` seconds, LAMEFAIR_SHARE_MAX at most) or is revoked. Its
    `url` is shown only in this answer."""
    return shares.create_share(cat, user, body, _public_base(cat, request))


@router.get("/proposals/{proposal_id}/shares", response_model=list[s.ShareOut])
def list_shares(proposal_id: uuid.UUID, user: Me, cat: Cat):
    return shares.list_shares(cat, user, proposal_id)


@router.post("/shares/{share_id}/revoke", response_model=s.ShareOut)
def revoke_share(share_id: uuid.UUID, user: Me, cat: Cat):
    """Refuses every later opening at once (its maker or a PI)."""
    return shares.revoke_share(cat, user, share_id)


@router.get("/shares/{share_id}/uses", response_model=list[s.ShareUseOut])
def share_uses(share_id: uuid.UUID, user: Me, cat: Cat):
    return shares.list_uses(cat, user, share_id)


def _public_base(cat: Cat, request: Request) -> str:
    """Where links point: LAMEFAIR_PUBLIC_URL when set (behind a proxy that terminates TLS the
    request's own address says http:// and the proxy's inner name), else the request's address."""
    return cat.settings.public_url or str(request.base_url)


def open_link(cat: Cat, request: Request, token: str, path: str = "", format: str = "json"):
    """A file: 307 to a GET valid a few minutes. A folder: its files, each with a link of its
    own through this route (`?format=aria2`: the same as an aria2 input file)."""
    caller = share_open.Caller(
        request.client.host if request.client else "", request.headers.get("user-agent", "")
    )
    answer = share_open.open_share(cat, token, path, caller, _public_base(cat, request))
    if isinstance(answer, share_open.Redirect):
        return RedirectResponse(answer.url, status_code=307)
    if format == "aria2":
        return PlainTextResponse(answer.aria2)
    return answer


OPEN = {"response_model": s.SharedFolder, "responses": {307: {"description": "the file"}}}
for prefix in ("/share/{token}", "/share/{token}/{path:path}"):
    router.add_api_route(prefix, open_link, methods=["GET"], **OPEN)

# The short form handed out (`<catalog>/s/<token>`), outside /api.
public = APIRouter(tags=["shares"])
for prefix in ("/s/{token}", "/s/{token}/{path:path}"):
    public.add_api_route(prefix, open_link, methods=["GET"], include_in_schema=False, **OPEN)
