"""Bodies of bucket browsing: a proposal's buckets, their folders and objects, GET URLs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from lamefair_catalog.schemas import fields as f
from lamefair_catalog.schemas.fields import Body


class BucketOut(BaseModel):
    name: str
    kind: Literal["raw", "mirror"]
    proposal: uuid.UUID
    project: str
    number: str
    title: str


class ObjectOut(BaseModel):
    key: str
    name: str
    size: int
    modified: str
    etag: str
    sha256: str | None = None  # when the catalog knows the object (raw and derived files)
    # Its last fixity check (domain/fixity.py), when it had one since it was stored.
    verified_at: dt.datetime | None = None
    fixity: Literal["ok", "mismatch", "missing", "error"] | None = None
    # The derived file whose thumbnail shows this object (an NXem, or the raw file it came from)
    # and the thumbnail's SHA-256: GET /api/derived/{thumbnail}/thumbnail.
    thumbnail: uuid.UUID | None = None
    thumbnail_sha256: str = ""


class ObjectListing(BaseModel):
    bucket: str
    prefix: str
    folders: list[str]
    objects: list[ObjectOut]
    next_cursor: str | None


class PresignKeysIn(Body):
    keys: list[f.ObjectKey] = Field(min_length=1, max_length=1000)


class PresignedGet(BaseModel):
    key: str
    url: str
    expires_at: dt.datetime
    expires_in: int  # seconds (LAMEFAIR_PRESIGN_TTL): what the window says, whatever its clock


class PresignKeysOut(BaseModel):
    urls: list[PresignedGet]
