"""Routes of the hierarchy: projects, proposals, samples, experiments."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from lamefair_catalog.domain import experiments, projects, proposals, samples
from lamefair_catalog.schemas import hierarchy as s
from lamefair_catalog.web.dependencies import Cat, Me, answered

router = APIRouter(tags=["hierarchy"])


@router.get("/projects", response_model=list[s.ProjectOut])
def list_projects(user: Me, cat: Cat):
    return projects.list_projects(cat, user)


@router.post("/projects", response_model=s.ProjectOut, status_code=201)
def create_project(body: s.ProjectIn, user: Me, cat: Cat, response: Response):
    return answered(response, *projects.create_project(cat, user, body))


@router.get("/projects/{project_id}", response_model=s.ProjectOut)
def get_project(project_id: uuid.UUID, user: Me, cat: Cat):
    return projects.get_project(cat, user, project_id)


@router.patch("/projects/{project_id}", response_model=s.ProjectOut)
def patch_project(project_id: uuid.UUID, body: s.ProjectPatch, user: Me, cat: Cat):
    return projects.patch_project(cat, user, project_id, body)


@router.get("/proposals", response_model=list[s.ProposalOut])
def list_proposals(user: Me, cat: Cat, project: uuid.UUID | None = None):
    return proposals.list_proposals(cat, user, project)


@router.post("/proposals", response_model=s.ProposalOut, status_code=201)
def create_proposal(body: s.ProposalIn, user: Me, cat: Cat, response: Response):
    """Creates the proposal and its raw and mirror buckets (safe to repeat)."""
    return answered(response, *proposals.create_proposal(cat, user, body))


@router.get("/proposals/{proposal_id}", response_model=s.ProposalOut)
def get_proposal(proposal_id: uuid.UUID, user: Me, cat: Cat):
    return proposals.get_proposal(cat, user, proposal_id)


@router.patch("/proposals/{proposal_id}", response_model=s.ProposalOut)
def patch_proposal(proposal_id: uuid.UUID, body: s.ProposalPatch, user: Me, cat: Cat):
    return proposals.patch_proposal(cat, user, proposal_id, body)


@router.post("/proposals/{proposal_id}/ensure-buckets", response_model=s.ProposalOut)
def ensure_buckets(proposal_id: uuid.UUID, user: Me, cat: Cat):
    """Admin: create missing buckets and rewrite the proposal's README files."""
    return proposals.ensure_buckets(cat, user, proposal_id)


@router.get("/samples", response_model=list[s.SampleOut])
def list_samples(proposal: uuid.UUID, user: Me, cat: Cat):
    return samples.list_samples(cat, user, proposal)


@router.post("/samples", response_model=s.SampleOut, status_code=201)
def create_sample(body: s.SampleIn, user: Me, cat: Cat, response: Response):
    return answered(response, *samples.create_sample(cat, user, body))


@router.get("/samples/{sample_id}", response_model=s.SampleOut)
def get_sample(sample_id: uuid.UUID, user: Me, cat: Cat):
    return samples.get_sample(cat, user, sample_id)


@router.patch("/samples/{sample_id}", response_model=s.SampleOut)
def patch_sample(sample_id: uuid.UUID, body: s.SamplePatch, user: Me, cat: Cat):
    return samples.patch_sample(cat, user, sample_id, body)


@router.get("/experiments", response_model=list[s.ExperimentOut])
def list_experiments(sample: uuid.UUID, user: Me, cat: Cat):
    return experiments.list_experiments(cat, user, sample)


@router.post("/experiments", response_model=s.ExperimentOut, status_code=201)
def create_experiment(body: s.ExperimentIn, user: Me, cat: Cat, response: Response):
    return answered(response, *experiments.create_experiment(cat, user, body))


@router.get("/experiments/{experiment_id}", response_model=s.ExperimentOut)
def get_experiment(experiment_id: uuid.UUID, user: Me, cat: Cat):
    return experiments.get_experiment(cat, user, experiment_id)


@router.patch("/experiments/{experiment_id}", response_model=s.ExperimentOut)
def patch_experiment(experiment_id: uuid.UUID, body: s.ExperimentPatch, user: Me, cat: Cat):
    return experiments.patch_experiment(cat, user, experiment_id, body)
