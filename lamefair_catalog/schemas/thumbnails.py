"""Bodies of thumbnails: the PNG kept beside a derived NXem file in the mirror bucket."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field, StrictInt

from lamefair_catalog.schemas import fields as f
from lamefair_catalog.schemas.fields import Body

# A 256-pixel PNG is tens of kilobytes; anything near this is not a thumbnail.
ThumbnailSize = Annotated[StrictInt, Field(ge=1, le=4 * 1024**2)]


class ThumbnailIn(Body):
    size: ThumbnailSize
    sha256: f.Sha256Hex


class ThumbnailUpload(BaseModel):
    """A presigned PUT that signs the PNG's SHA-256, then POST .../thumbnail/complete."""

    derived: uuid.UUID
    bucket: str
    key: str
    url: str
    headers: dict[str, str]
    expires_at: dt.datetime
