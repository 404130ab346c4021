"""Routes of measurements and transfers: registration, upload plans, completion, downloads, NXem."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from lamefair_catalog.domain import derived, measurements, uploads
from lamefair_catalog.schemas import transfers as s
from lamefair_catalog.web.dependencies import Cat, Me, answered

router = APIRouter(tags=["transfers"])


@router.get("/measurements", response_model=list[s.MeasurementOut])
def list_measurements(experiment: uuid.UUID, user: Me, cat: Cat):
    return measurements.list_measurements(cat, user, experiment)


@router.post("/measurements", response_model=s.MeasurementOut, status_code=201)
def create_measurement(body: s.MeasurementIn, user: Me, cat: Cat, response: Response):
    """Registers a measurement and its files (state `pending`), with their storage keys."""
    return answered(response, *measurements.create_measurement(cat, user, body))


@router.get("/measurements/{measurement_id}", response_model=s.MeasurementOut)
def get_measurement(measurement_id: uuid.UUID, user: Me, cat: Cat):
    return measurements.get_measurement(cat, user, measurement_id)


@router.post("/measurements/{measurement_id}/uploads", response_model=s.BatchPlans)
def start_uploads(measurement_id: uuid.UUID, body: s.BatchPlanRequest, user: Me, cat: Cat):
    """Upload plans for many files of a measurement at once; per-file refusals in `errors`."""
    return uploads.start_uploads(cat, user, measurement_id, body)


@router.post("/measurements/{measurement_id}/complete", response_model=s.BatchCompleted)
def complete_uploads(measurement_id: uuid.UUID, body: s.BatchCompleteRequest, user: Me, cat: Cat):
    """Check and mark many uploaded files at once; files that do not match are in `errors`."""
    return uploads.complete_uploads(cat, user, measurement_id, body)


@router.get("/files/{file_id}", response_model=s.FileOut)
def get_file(file_id: uuid.UUID, user: Me, cat: Cat):
    return measurements.get_file(cat, user, file_id)


@router.post("/files/{file_id}/upload", response_model=s.SinglePlan | s.MultipartPlan)
def start_upload(file_id: uuid.UUID, user: Me, cat: Cat, body: s.UploadRequest | None = None):
    """An upload plan: one presigned PUT (signing the file's SHA-256, given here if it was not
    registered), or a multipart upload (resumable: parts S3 holds)."""
    return uploads.start_upload(cat, user, file_id, body)


@router.post("/files/{file_id}/parts", response_model=s.PartsResponse)
def presign_parts(file_id: uuid.UUID, body: s.PartsRequest, user: Me, cat: Cat):
    """Presigned part URLs, each signing its part's SHA-256. Ask again when one expires."""
    return uploads.presign_parts(cat, user, file_id, body)


@router.post("/files/{file_id}/complete", response_model=s.FileOut)
def complete_upload(file_id: uuid.UUID, body: s.CompleteRequest, user: Me, cat: Cat):
    """Checks the object in S3 (size, checksum) and marks the file `stored`."""
    return uploads.complete_upload(cat, user, file_id, body)


@router.delete("/files/{file_id}/upload", response_model=s.FileOut)
def abort_upload(file_id: uuid.UUID, user: Me, cat: Cat):
    return uploads.abort_upload(cat, user, file_id)


@router.post("/files/{file_id}/give-up", response_model=s.FileOut)
def give_up_upload(file_id: uuid.UUID, body: s.GiveUpRequest, user: Me, cat: Cat):
    """The client cannot finish (source changed or gone): abort in S3, mark `failed` + reason."""
    return uploads.give_up_upload(cat, user, file_id, body)


@router.get("/files/{file_id}/download", response_model=s.DownloadOut)
def download(file_id: uuid.UUID, user: Me, cat: Cat):
    return measurements.download(cat, user, file_id)


@router.post("/files/{file_id}/derived", response_model=s.DerivedUpload)
def start_derived(file_id: uuid.UUID, body: s.DerivedIn, user: Me, cat: Cat):
    """A presigned PUT for the NXem file derived from this raw file, into the mirror bucket."""
    return derived.start_derived(cat, user, file_id, body)


@router.post("/derived/{derived_id}/complete", response_model=s.DerivedOut)
def complete_derived(derived_id: uuid.UUID, user: Me, cat: Cat):
    return derived.complete_derived(cat, user, derived_id)
