"""Request and response bodies of the catalog API (pydantic). The OpenAPI schema is built from them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lamefair_catalog import fields as f


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- hierarchy --------------------------------------------------------------------------------


class ProjectIn(Body):
    id: uuid.UUID | None = None
    name: f.Name
    description: f.LongText = ""


class ProjectPatch(Body):
    name: f.Name | None = None
    description: f.LongText | None = None


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
    number: f.ProposalNumber
    pi_name: f.PersonName = ""
    date: dt.date | None = None
    title: f.Title = ""
    description: f.LongText = ""
    members: list[f.Name] = Field(default_factory=list, max_length=500)


class ProposalPatch(Body):
    pi_name: f.PersonName | None = None
    date: dt.date | None = None
    title: f.Title | None = None
    description: f.LongText | None = None
    members: list[f.Name] | None = Field(default=None, max_length=500)


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
    name: f.Name
    identifier: f.Identifier = ""
    preparation_date: dt.date | None = None
    atom_types: list[f.AtomType] = Field(default_factory=list, max_length=118)
    physical_form: f.PhysicalForm = ""
    is_simulation: f.Flag = False
    description: f.LongText = ""


class SamplePatch(Body):
    name: f.Name | None = None
    identifier: f.Identifier | None = None
    preparation_date: dt.date | None = None
    atom_types: list[f.AtomType] | None = Field(default=None, max_length=118)
    physical_form: f.PhysicalForm | None = None
    is_simulation: f.Flag | None = None
    description: f.LongText | None = None


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
    name: f.Name
    description: f.LongText = ""
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None


class ExperimentPatch(Body):
    name: f.Name | None = None
    description: f.LongText | None = None
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
    path: f.FilePath
    size: f.FileSize
    sha256: f.Sha256Hex


class MeasurementIn(Body):
    id: uuid.UUID | None = None
    experiment: uuid.UUID
    instrument_pair: f.InstrumentPair = "generic"
    operator: f.PersonName = ""
    description: f.LongText = ""
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
    # The catalog's FAIRmat verdict on the stored object (null: not judged yet, or cannot be here).
    server_valid: bool | None = None
    server_validator: str = ""
    server_report: str = ""
    server_checked_at: dt.datetime | None = None


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
    number: f.PartNumber
    sha256: f.Sha256Hex


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
    number: f.PartNumber
    etag: f.ETag
    sha256: f.Sha256Hex


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
    size: f.DerivedSize
    sha256: f.Sha256Hex
    valid: f.Flag
    report: f.Report = ""


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
    keys: list[f.ObjectKey] = Field(min_length=1, max_length=1000)


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
