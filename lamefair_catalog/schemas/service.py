"""Bodies of the service routes: health, sign-in configuration, the caller, the change feed, errors."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel


class ChangeOut(BaseModel):
    rev: int
    entity: str
    id: uuid.UUID
    op: str
    data: dict


class ChangesOut(BaseModel):
    changes: list[ChangeOut]
    last_rev: int


class AuthConfig(BaseModel):
    mode: Literal["embedded", "oidc"]
    issuer: str | None
    client_id: str | None
    scopes: str
    audience: str | None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    # This catalog's stable id (the same from every server process and at any address): clients
    # file queued work under it. None only while the database has not been readable yet.
    catalog_id: str | None = None
    database: str
    storage: str
    auth: AuthConfig


class MeOut(BaseModel):
    username: str
    groups: list[str]
    roles: list[str]


class ErrorOut(BaseModel):
    detail: str
