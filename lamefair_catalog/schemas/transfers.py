"""Bodies of measurements, their files, upload plans, downloads and derived NXem files."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from lamefair_catalog.schemas import fields as f
from lamefair_catalog.schemas.fields import Body
from lamefair_catalog.schemas.search import AcquisitionIn


class FileIn(Body):
    id: uuid.UUID | None = None
    path: f.FilePath
    size: f.FileSize
    # Known before upload (a watch folder hashed it to recognise renames), or null: the uploading
    # client computes it while sending and declares it on completion (one read of the bytes).
    sha256: f.Sha256Hex | None = None


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
    # A PNG thumbnail of these bytes is stored (GET /api/derived/{id}/thumbnail), and its SHA-256
    # (what a desktop's cache keys it by).
    thumbnail: bool = False
    thumbnail_sha256: str = ""


class FileOut(BaseModel):
    id: uuid.UUID
    measurement: uuid.UUID
    path: str
    bucket: str
    key: str
    size: int
    sha256: str | None  # null until declared (at the single PUT's plan or on completion)
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


class UploadRequest(Body):
    """A single PUT signs the file's SHA-256, so a file registered without one declares it here."""

    sha256: f.Sha256Hex | None = None


class CompleteRequest(Body):
    parts: list[CompletedPart] = Field(default_factory=list, max_length=10_000)
    # The whole file's SHA-256, computed while sending (required if registered without one).
    sha256: f.Sha256Hex | None = None


class GiveUpRequest(Body):
    reason: f.Reason = ""


class BatchPlanRequest(Body):
    files: list[uuid.UUID] = Field(min_length=1, max_length=1000)
    # Per file registered without a SHA-256 that goes in one PUT: the SHA-256 to sign.
    sha256: dict[uuid.UUID, f.Sha256Hex] = Field(default_factory=dict, max_length=1000)


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
    sha256: f.Sha256Hex | None = None


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
    # What the microscope did, as the desktop mapped it (optional: older clients send none).
    acquisition: AcquisitionIn | None = None


class DerivedUpload(BaseModel):
    id: uuid.UUID
    bucket: str
    key: str
    url: str
    headers: dict[str, str]
    expires_at: dt.datetime
