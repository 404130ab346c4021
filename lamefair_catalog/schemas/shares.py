"""Bodies of share links: what to share and for how long, the links of a proposal, their uses,
and what an opened folder link lists."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt, StringConstraints, model_validator

from lamefair_catalog.schemas import fields as f
from lamefair_catalog.schemas.fields import Body

Note = Annotated[str, StringConstraints(max_length=2000), f.MultiLine]


class ShareIn(Body):
    """Exactly one target: an object or a folder of a bucket (`key`; a folder's ends in "/"),
    or a file, measurement or experiment of the catalog."""

    bucket: Annotated[str, StringConstraints(min_length=1, max_length=63), f.Line] | None = None
    key: f.ObjectKey | None = None
    file: uuid.UUID | None = None
    measurement: uuid.UUID | None = None
    experiment: uuid.UUID | None = None
    expires_in: Annotated[StrictInt, Field(ge=1)]  # seconds, up to LAMEFAIR_SHARE_MAX
    note: Note = ""

    @model_validator(mode="after")
    def one_target(self) -> ShareIn:
        targets = [self.key is not None, self.file, self.measurement, self.experiment]
        if sum(bool(t) for t in targets) != 1 or (self.key is not None) != bool(self.bucket):
            raise ValueError("give exactly one of: bucket and key, file, measurement, experiment")
        return self


class ShareOut(BaseModel):
    id: uuid.UUID
    proposal: uuid.UUID
    bucket: str
    key: str
    is_folder: bool
    note: str
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str
    state: Literal["active", "expired", "revoked"]
    uses: int


class ShareCreated(ShareOut):
    url: str  # the only time the link is shown: the catalog keeps only its token's SHA-256
    max_expires_in: int


class ShareUseOut(BaseModel):
    at: dt.datetime
    key: str
    outcome: str
    client: str
    user_agent: str


class SharedFile(BaseModel):
    path: str  # below the shared folder
    size: int
    sha256: str | None
    url: str  # through the share link: checked again, and a fresh short-lived GET each time


class SharedFolder(BaseModel):
    folder: str
    note: str
    expires_at: dt.datetime
    files: list[SharedFile]
    truncated: bool  # more files than one listing holds
    aria2: str  # the same files as an aria2 input file (aria2c -i)
