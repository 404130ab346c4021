"""HTTP routes. Thin: parse, authenticate, call a domain command, return its result."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status

from lamefair_catalog import schemas as s
from lamefair_catalog.auth import Principal
from lamefair_catalog.commands import Catalog
from lamefair_catalog.fields import Line
from lamefair_catalog.transfers import Transfers

ERRORS = {code: {"model": s.ErrorOut} for code in (401, 403, 404, 409, 422, 503)}

router = APIRouter(prefix="/api", responses=ERRORS)


def catalog(request: Request) -> Catalog:
    return request.app.state.catalog


def transfers(request: Request) -> Transfers:
    return request.app.state.transfers


def principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    return request.app.state.authenticator.authenticate(authorization)


Me = Annotated[Principal, Depends(principal)]
Cat = Annotated[Catalog, Depends(catalog)]
Xfer = Annotated[Transfers, Depends(transfers)]


def _created(response: Response, created: bool) -> None:
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK


# --- service ----------------------------------------------------------------------------------


@router.get("/health", response_model=s.HealthOut, tags=["service"])
async def health(request: Request, response: Response) -> s.HealthOut:
    """Liveness for operators and the desktop: version, database, storage, how to sign in.

    Answers within a few seconds whatever the dependencies do: 503 (status "degraded") when the
    database or storage is down or not answering, with what is wrong in `database` / `storage`.
    Async on purpose: waiting for a hung dependency must not take a worker thread.
    """
    out = await request.app.state.health()
    if out.status != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return out


@router.get("/auth-config", response_model=s.AuthConfig, tags=["service"])
def auth_config(request: Request) -> s.AuthConfig:
    return request.app.state.auth_config()


@router.get("/me", response_model=s.MeOut, tags=["service"])
def me(user: Me) -> s.MeOut:
    return s.MeOut(username=user.username, groups=sorted(user.groups), roles=user.roles)


MAX_REV = 2**63 - 1  # revisions are 64-bit integers in every database we support


@router.get("/changes", response_model=s.ChangesOut, tags=["service"])
def changes(
    user: Me,
    cat: Cat,
    since: Annotated[int, Query(ge=0, le=MAX_REV)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> s.ChangesOut:
    return cat.changes(user, since, limit)


# --- hierarchy --------------------------------------------------------------------------------


@router.get("/projects", response_model=list[s.ProjectOut], tags=["hierarchy"])
def list_projects(user: Me, cat: Cat):
    return cat.list_projects(user)


@router.post("/projects", response_model=s.ProjectOut, status_code=201, tags=["hierarchy"])
def create_project(body: s.ProjectIn, user: Me, cat: Cat, response: Response):
    out, created = cat.create_project(user, body)
    _created(response, created)
    return out


@router.get("/projects/{project_id}", response_model=s.ProjectOut, tags=["hierarchy"])
def get_project(project_id: uuid.UUID, user: Me, cat: Cat):
    return cat.get_project(user, project_id)


@router.patch("/projects/{project_id}", response_model=s.ProjectOut, tags=["hierarchy"])
def patch_project(project_id: uuid.UUID, body: s.ProjectPatch, user: Me, cat: Cat):
    return cat.patch_project(user, project_id, body)


@router.get("/proposals", response_model=list[s.ProposalOut], tags=["hierarchy"])
def list_proposals(user: Me, cat: Cat, project: uuid.UUID | None = None):
    return cat.list_proposals(user, project)


@router.post("/proposals", response_model=s.ProposalOut, status_code=201, tags=["hierarchy"])
def create_proposal(body: s.ProposalIn, user: Me, cat: Cat, response: Response):
    """Creates the proposal and its raw and mirror buckets (safe to repeat)."""
    out, created = cat.create_proposal(user, body)
    _created(response, created)
    return out


@router.get("/proposals/{proposal_id}", response_model=s.ProposalOut, tags=["hierarchy"])
def get_proposal(proposal_id: uuid.UUID, user: Me, cat: Cat):
    return cat.get_proposal(user, proposal_id)


@router.patch("/proposals/{proposal_id}", response_model=s.ProposalOut, tags=["hierarchy"])
def patch_proposal(proposal_id: uuid.UUID, body: s.ProposalPatch, user: Me, cat: Cat):
    return cat.patch_proposal(user, proposal_id, body)


@router.post(
    "/proposals/{proposal_id}/ensure-buckets", response_model=s.ProposalOut, tags=["hierarchy"]
)
def ensure_buckets(proposal_id: uuid.UUID, user: Me, cat: Cat):
    """Admin: create missing buckets and rewrite the proposal's README files."""
    return cat.ensure_buckets(user, proposal_id)


@router.get("/samples", response_model=list[s.SampleOut], tags=["hierarchy"])
def list_samples(proposal: uuid.UUID, user: Me, cat: Cat):
    return cat.list_samples(user, proposal)


@router.post("/samples", response_model=s.SampleOut, status_code=201, tags=["hierarchy"])
def create_sample(body: s.SampleIn, user: Me, cat: Cat, response: Response):
    out, created = cat.create_sample(user, body)
    _created(response, created)
    return out


@router.get("/samples/{sample_id}", response_model=s.SampleOut, tags=["hierarchy"])
def get_sample(sample_id: uuid.UUID, user: Me, cat: Cat):
    return cat.get_sample(user, sample_id)


@router.patch("/samples/{sample_id}", response_model=s.SampleOut, tags=["hierarchy"])
def patch_sample(sample_id: uuid.UUID, body: s.SamplePatch, user: Me, cat: Cat):
    return cat.patch_sample(user, sample_id, body)


@router.get("/experiments", response_model=list[s.ExperimentOut], tags=["hierarchy"])
def list_experiments(sample: uuid.UUID, user: Me, cat: Cat):
    return cat.list_experiments(user, sample)


@router.post("/experiments", response_model=s.ExperimentOut, status_code=201, tags=["hierarchy"])
def create_experiment(body: s.ExperimentIn, user: Me, cat: Cat, response: Response):
    out, created = cat.create_experiment(user, body)
    _created(response, created)
    return out


@router.get("/experiments/{experiment_id}", response_model=s.ExperimentOut, tags=["hierarchy"])
def get_experiment(experiment_id: uuid.UUID, user: Me, cat: Cat):
    return cat.get_experiment(user, experiment_id)


@router.patch("/experiments/{experiment_id}", response_model=s.ExperimentOut, tags=["hierarchy"])
def patch_experiment(experiment_id: uuid.UUID, body: s.ExperimentPatch, user: Me, cat: Cat):
    return cat.patch_experiment(user, experiment_id, body)


# --- measurements and transfers ---------------------------------------------------------------


@router.get("/measurements", response_model=list[s.MeasurementOut], tags=["transfers"])
def list_measurements(experiment: uuid.UUID, user: Me, xfer: Xfer):
    return xfer.list_measurements(user, experiment)


@router.post("/measurements", response_model=s.MeasurementOut, status_code=201, tags=["transfers"])
def create_measurement(body: s.MeasurementIn, user: Me, xfer: Xfer, response: Response):
    """Registers a measurement and its files (state `pending`), with their storage keys."""
    out, created = xfer.create_measurement(user, body)
    _created(response, created)
    return out


@router.get("/measurements/{measurement_id}", response_model=s.MeasurementOut, tags=["transfers"])
def get_measurement(measurement_id: uuid.UUID, user: Me, xfer: Xfer):
    return xfer.get_measurement(user, measurement_id)


@router.post(
    "/measurements/{measurement_id}/uploads", response_model=s.BatchPlans, tags=["transfers"]
)
def start_uploads(measurement_id: uuid.UUID, body: s.BatchPlanRequest, user: Me, xfer: Xfer):
    """Upload plans for many files of a measurement at once; per-file refusals in `errors`."""
    return xfer.start_uploads(user, measurement_id, body)


@router.post(
    "/measurements/{measurement_id}/complete", response_model=s.BatchCompleted, tags=["transfers"]
)
def complete_uploads(measurement_id: uuid.UUID, body: s.BatchCompleteRequest, user: Me, xfer: Xfer):
    """Check and mark many uploaded files at once; files that do not match are in `errors`."""
    return xfer.complete_uploads(user, measurement_id, body)


@router.get("/files/{file_id}", response_model=s.FileOut, tags=["transfers"])
def get_file(file_id: uuid.UUID, user: Me, xfer: Xfer):
    return xfer.get_file(user, file_id)


@router.post(
    "/files/{file_id}/upload",
    response_model=s.SinglePlan | s.MultipartPlan,
    tags=["transfers"],
)
def start_upload(file_id: uuid.UUID, user: Me, xfer: Xfer):
    """An upload plan: one presigned PUT, or a multipart upload (resumable: parts S3 holds)."""
    return xfer.start_upload(user, file_id)


@router.post("/files/{file_id}/parts", response_model=s.PartsResponse, tags=["transfers"])
def presign_parts(file_id: uuid.UUID, body: s.PartsRequest, user: Me, xfer: Xfer):
    """Presigned part URLs, each signing its part's SHA-256. Ask again when one expires."""
    return xfer.presign_parts(user, file_id, body)


@router.post("/files/{file_id}/complete", response_model=s.FileOut, tags=["transfers"])
def complete_upload(file_id: uuid.UUID, body: s.CompleteRequest, user: Me, xfer: Xfer):
    """Checks the object in S3 (size, checksum) and marks the file `stored`."""
    return xfer.complete_upload(user, file_id, body)


@router.delete("/files/{file_id}/upload", response_model=s.FileOut, tags=["transfers"])
def abort_upload(file_id: uuid.UUID, user: Me, xfer: Xfer):
    return xfer.abort_upload(user, file_id)


@router.post("/files/{file_id}/give-up", response_model=s.FileOut, tags=["transfers"])
def give_up_upload(file_id: uuid.UUID, body: s.GiveUpRequest, user: Me, xfer: Xfer):
    """The client cannot finish (source changed or gone): abort in S3, mark `failed` + reason."""
    return xfer.give_up_upload(user, file_id, body)


@router.get("/files/{file_id}/download", response_model=s.DownloadOut, tags=["transfers"])
def download(file_id: uuid.UUID, user: Me, xfer: Xfer):
    return xfer.download(user, file_id)


@router.post("/files/{file_id}/derived", response_model=s.DerivedUpload, tags=["transfers"])
def start_derived(file_id: uuid.UUID, body: s.DerivedIn, user: Me, xfer: Xfer):
    """A presigned PUT for the NXem file derived from this raw file, into the mirror bucket."""
    return xfer.start_derived(user, file_id, body)


@router.post("/derived/{derived_id}/complete", response_model=s.DerivedOut, tags=["transfers"])
def complete_derived(derived_id: uuid.UUID, user: Me, xfer: Xfer):
    return xfer.complete_derived(user, derived_id)


# --- buckets ----------------------------------------------------------------------------------


@router.get("/buckets", response_model=list[s.BucketOut], tags=["buckets"])
def buckets(user: Me, xfer: Xfer):
    return xfer.buckets(user)


# Only S3 bucket names: anything else is none of ours, and a NUL would reach PostgreSQL's query.
Bucket = Annotated[str, Path(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")]


@router.get("/buckets/{bucket}/objects", response_model=s.ObjectListing, tags=["buckets"])
def list_objects(
    bucket: Bucket,
    user: Me,
    xfer: Xfer,
    prefix: Annotated[str, Query(max_length=1024), Line] = "",
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
):
    """Folders and objects one level below `prefix`, a page at a time."""
    return xfer.list_objects(user, bucket, prefix, cursor, limit)


@router.post("/buckets/{bucket}/presign", response_model=s.PresignKeysOut, tags=["buckets"])
def presign_keys(bucket: Bucket, body: s.PresignKeysIn, user: Me, xfer: Xfer):
    """Presigned GET URLs for folder downloads and aria2 manifests."""
    return xfer.presign_keys(user, bucket, body)
