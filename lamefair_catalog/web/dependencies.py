"""What every route receives: the caller (authenticated from the Authorization header) and the
catalog the domain commands work on, both from the app's state (see app.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Response, status

from lamefair_catalog.domain.access import Principal
from lamefair_catalog.domain.catalog import Catalog


def catalog(request: Request) -> Catalog:
    return request.app.state.catalog


def principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    caller = request.app.state.authenticator.authenticate(authorization)
    request.state.user = caller.username  # for the request's log line (web/observe.py)
    return caller


Me = Annotated[Principal, Depends(principal)]
Cat = Annotated[Catalog, Depends(catalog)]


def answered(response: Response, out: object, created: bool) -> object:
    """A create's answer: 201 when this call created the row, 200 when it existed already."""
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return out
