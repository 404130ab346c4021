"""Bodies of the hierarchy: projects, proposals, samples, experiments."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from lamefair_catalog.schemas import fields as f
from lamefair_catalog.schemas.fields import Body


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
