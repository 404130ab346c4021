"""Bodies of search: the acquisition values a desktop sends with a derived NXem file, and what
`GET /api/search` answers (a page of hits with everything needed to open each, and facet counts).

All numbers are SI base units as floats (V, m, s), stage tilt in degrees; absent values are null.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt

from lamefair_catalog.schemas import fields as f
from lamefair_catalog.schemas.fields import Body

# Finite numbers only (JSON has no NaN, but Python clients can send one); ints are floats too.
Number = Annotated[StrictFloat | StrictInt, Field(allow_inf_nan=False)]
Count = Annotated[StrictInt, Field(ge=0, le=10_000_000)]
IsoTime = Annotated[str, Field(max_length=64)]

# The numeric values a search filters by ranges, in the order the API documents them.
NUMBER_FIELDS = (
    "voltage",
    "magnification",
    "field_of_view",
    "pixel_size",
    "dwell_time",
    "working_distance",
    "camera_length",
    "stage_tilt",
)


class AcquisitionIn(Body):
    instrument_vendor: f.PersonName = ""
    instrument_model: f.PersonName = ""
    detector: f.PersonName = ""
    voltage: Number | None = None  # V
    magnification: Number | None = None
    field_of_view: Number | None = None  # m
    pixel_size: Number | None = None  # m
    dwell_time: Number | None = None  # s
    working_distance: Number | None = None  # m
    camera_length: Number | None = None  # m
    stage_tilt: Number | None = None  # degrees
    acquired_at: IsoTime | None = None  # ISO 8601 with its zone
    width: Count | None = None
    height: Count | None = None
    frames: Count | None = None
    valid: StrictBool | None = None  # the validator's verdict
    operator: f.PersonName = ""


class AcquisitionOut(BaseModel):
    instrument: str
    vendor: str
    model: str
    detector: str
    voltage: float | None
    magnification: float | None
    field_of_view: float | None
    pixel_size: float | None
    dwell_time: float | None
    working_distance: float | None
    camera_length: float | None
    stage_tilt: float | None
    acquired_at: dt.datetime | None
    acquired_text: str
    width: int | None
    height: int | None
    frames: int | None
    valid: bool | None
    operator: str


class SearchHit(BaseModel):
    file: uuid.UUID
    derived: uuid.UUID
    path: str
    project: uuid.UUID
    proposal: uuid.UUID
    proposal_number: str
    sample: uuid.UUID
    sample_name: str
    elements: list[str]
    experiment: uuid.UUID
    experiment_name: str
    measurement: uuid.UUID
    measurement_slug: str
    raw_bucket: str
    raw_key: str
    raw_size: int
    raw_sha256: str
    mirror_bucket: str
    mirror_key: str
    mirror_size: int
    mirror_sha256: str
    values: AcquisitionOut


class FacetCount(BaseModel):
    value: str | float
    count: int


class Facets(BaseModel):
    instruments: list[FacetCount]
    detectors: list[FacetCount]
    voltages: list[FacetCount]  # by kV, the value in V
    elements: list[FacetCount]
    operators: list[FacetCount]


class SearchPage(BaseModel):
    total: int
    offset: int
    limit: int
    hits: list[SearchHit]
    facets: Facets
