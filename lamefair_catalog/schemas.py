"""Request and response bodies of the catalog API (pydantic). The OpenAPI schema is built from them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Sha256Hex = Annotated[
    str, StringConstraints(pattern=r"^[0-9a-f]{64}$", min_length=64, max_length=64)
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- hierarchy --------------------------------------------------------------------------------


class ProjectIn(Body):
    id: uuid.UUID | None = None
    name: Name
    description: LongText = ""


class ProjectPatch(Body):
    name: Name | None = None
    description: LongText | None = None


class ProjectOut(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    description: str
    created_at: dt.datetime
    created_by: str


class ProposalIn(Body):
    id: uuid.UUID | None = None
    project: uuid.UUID
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    pi_name: ShortText = ""
    date: dt.date | None = None
    title: ShortText = ""
    description: LongText = ""
    members: list[Name] = Field(default_factory=list, max_length=500)


class ProposalPatch(Body):
    pi_name: ShortText | None = None
    date: dt.date | None = None
    title: ShortText | None = None
    description: LongText | None = None
    members: list[Name] | None = Field(default=None, max_length=500)


class ProposalOut(BaseModel):
    id: uuid.UUID
    project: uuid.UUID
    project_slug: str
    number: str
    number_slug: str
    pi_name: str
    date: dt.date | None
    title: str
    description: str
    members: list[str]
    raw_bucket: str
    mirror_bucket: str
    created_at: dt.datetime
    created_by: str


class SampleIn(Body):
    id: uuid.UUID | None = None
    proposal: uuid.UUID
    name: Name
    identifier: ShortText = ""
    preparation_date: dt.date | None = None
    atom_types: list[Annotated[str, StringConstraints(max_length=3)]] = Field(
        default_factory=list, max_length=118
    )
    physical_form: ShortText = ""
    is_simulation: bool = False
    description: LongText = ""


class SamplePatch(Body):
    name: Name | None = None
    identifier: ShortText | None = None
    preparation_date: dt.date | None = None
    atom_types: list[Annotated[str, StringConstraints(max_length=3)]] | None = Field(
        default=None, max_length=118
    )
    physical_form: ShortText | None = None
    is_simulation: bool | None = None
    description: LongText | None = None


class SampleOut(BaseModel):
    id: uuid.UUID
    proposal: uuid.UUID
    name: str
    slug: str
    identifier: str
    preparation_date: dt.date | None
    atom_types: list[str]
    physical_form: str
    is_simulation: bool
    description: str
    created_at: dt.datetime
    created_by: str


class ExperimentIn(Body):
    id: uuid.UUID | None = None
    sample: uuid.UUID
    name: Name
    description: LongText = ""
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None


class ExperimentPatch(Body):
    name: Name | None = None
    description: LongText | None = None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None


class ExperimentOut(BaseModel):
    id: uuid.UUID
    sample: uuid.UUID
    name: str
    slug: str
    description: str
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    created_at: dt.datetime
    created_by: str


# --- measurements and files -------------------------------------------------------------------


class FileIn(Body):
    id: uuid.UUID | None = None
    path: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    size: Annotated[int, Field(ge=0, le=5 * 1024**4)]  # S3's 5 TiB object limit
    sha256: Sha256Hex


class MeasurementIn(Body):
    id: uuid.UUID | None = None
    experiment: uuid.UUID
    instrument_pair: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "generic"
    operator: ShortText = ""
    description: LongText = ""
    files: list[FileIn] = Field(default_factory=list, max_length=100_000)


class DerivedOut(BaseModel):
    id: uuid.UUID
    source_file: uuid.UUID
    bucket: str
    key: str
    size: int
    sha256: str
    valid: bool
    state: str
    created_at: dt.datetime


class FileOut(BaseModel):
    id: uuid.UUID
    measurement: uuid.UUID
    path: str
    bucket: str
    key: str
    size: int
    sha256: str
    state: Literal["pending", "uploading", "stored", "failed"]
    error: str
    stored_at: dt.datetime | None
    derived: list[DerivedOut]


class MeasurementOut(BaseModel):
    id: uuid.UUID
    experiment: uuid.UUID
    slug: str
    instrument_pair: str
    operator: str
    description: str
    created_at: dt.datetime
    created_by: str
    files: list[FileOut]


# --- transfers --------------------------------------------------------------------------------


class SinglePlan(BaseModel):
    method: Literal["single"] = "single"
    url: str
    headers: dict[str, str]
    expires_at: dt.datetime


class PartDone(BaseModel):
    number: int
    etag: str
    size: int


class MultipartPlan(BaseModel):
    method: Literal["multipart"] = "multipart"
    upload_id: str
    part_size: int
    part_count: int
    parts_done: list[PartDone]


class PartRequest(Body):
    number: Annotated[int, Field(ge=1, le=10_000)]
    sha256: Sha256Hex


class PartsRequest(Body):
    parts: list[PartRequest] = Field(min_length=1, max_length=1000)


class PresignedPart(BaseModel):
    number: int
    url: str
    headers: dict[str, str]
    expires_at: dt.datetime


class PartsResponse(BaseModel):
    parts: list[PresignedPart]


class CompletedPart(Body):
    number: Annotated[int, Field(ge=1, le=10_000)]
    etag: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    sha256: Sha256Hex


class CompleteRequest(Body):
    parts: list[CompletedPart] = Field(default_factory=list, max_length=10_000)


class GiveUpRequest(Body):
    reason: str = Field(default="", max_length=2000)


class BatchPlanRequest(Body):
    files: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class BatchPlan(BaseModel):
    file: uuid.UUID
    plan: SinglePlan | MultipartPlan


class BatchError(BaseModel):
    file: uuid.UUID
    detail: str
    state: str | None = None


class BatchPlans(BaseModel):
    plans: list[BatchPlan]
    errors: list[BatchError]


class BatchCompleteItem(Body):
    id: uuid.UUID
    parts: list[CompletedPart] = Field(default_factory=list, max_length=10_000)


class BatchCompleteRequest(Body):
    files: list[BatchCompleteItem] = Field(min_length=1, max_length=1000)


class BatchCompleted(BaseModel):
    files: list[FileOut]
    errors: list[BatchError]


class DownloadOut(BaseModel):
    url: str
    expires_at: dt.datetime
    size: int
    sha256: str
    bucket: str
    key: str
    path: str


class DerivedIn(Body):
    size: Annotated[int, Field(ge=0, le=5 * 1024**3)]  # single PUT limit of S3
    sha256: Sha256Hex
    valid: bool
    report: Annotated[str, StringConstraints(max_length=200_000)] = ""


class DerivedUpload(BaseModel):
    id: uuid.UUID
    bucket: str
    key: str
    url: str
    headers: dict[str, str]
    expires_at: dt.datetime


# --- buckets ----------------------------------------------------------------------------------


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


class ObjectListing(BaseModel):
    bucket: str
    prefix: str
    folders: list[str]
    objects: list[ObjectOut]
    next_cursor: str | None


class PresignKeysIn(Body):
    keys: list[Annotated[str, StringConstraints(min_length=1, max_length=1024)]] = Field(
        min_length=1, max_length=1000
    )


class PresignedGet(BaseModel):
    key: str
    url: str
    expires_at: dt.datetime


class PresignKeysOut(BaseModel):
    urls: list[PresignedGet]


# --- misc -------------------------------------------------------------------------------------


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
