"""Fuzz every route from the OpenAPI schema: whatever the input, never a 5xx, on either backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from lamefair_catalog.database.engine import make_engine, migrate
from lamefair_catalog.domain import experiments, measurements, projects, proposals, samples
from lamefair_catalog.schemas import hierarchy as h
from lamefair_catalog.schemas import transfers as t
from lamefair_catalog.settings import Settings
from lamefair_catalog.web.app import create_app
from tests.support import components

TOKEN = "fuzz-local-token"
# Generated requests per operation, on each backend: about 25 s each on an idle laptop.
EXAMPLES = 25
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Fuzzed:
    schema: schemathesis.schemas.BaseSchema
    ids: dict[str, str]  # an existing entity of each kind, by the name the API gives its id


def _seed(app) -> dict[str, str]:
    """One project, proposal, sample, experiment, measurement and file to aim requests at."""
    catalog = app.state.catalog
    me = app.state.authenticator.authenticate(AUTH["Authorization"])
    name = f"fuzz {uuid.uuid4().hex[:8]}"
    project, _ = projects.create_project(catalog, me, h.ProjectIn(name=name))
    proposal, _ = proposals.create_proposal(
        catalog, me, h.ProposalIn(project=project.id, number="F-1")
    )
    sample, _ = samples.create_sample(catalog, me, h.SampleIn(proposal=proposal.id, name="fuzzed"))
    experiment, _ = experiments.create_experiment(
        catalog, me, h.ExperimentIn(sample=sample.id, name="run")
    )
    file = t.FileIn(path="a/b.tif", size=1, sha256="0" * 64)
    measurement, _ = measurements.create_measurement(
        catalog, me, t.MeasurementIn(experiment=experiment.id, files=[file])
    )
    ids = {
        "project": project.id,
        "proposal": proposal.id,
        "sample": sample.id,
        "experiment": experiment.id,
        "measurement": measurement.id,
        "file": measurement.files[0].id,
    }
    return {kind: str(value) for kind, value in ids.items()}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(request, seaweed, tmp_path_factory) -> Iterator[Fuzzed]:
    """The real app in-process (ASGI), on a migrated database and the session's SeaweedFS.

    Both backends: PostgreSQL refuses what SQLite stores (NUL characters, strings longer than a
    varchar column), so a rule missing from the API shows up only there, as a 500. PostgreSQL
    gets a database of its own: the fuzzer's writes must not reach the other catalog tests.
    """
    database = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite'}"
    else:
        database = components.create_postgres_database()
        url = database.url
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    app = create_app(
        Settings(
            database_url=url,
            s3_endpoint=seaweed.endpoint,
            s3_access_key=seaweed.credentials.access_key,
            s3_secret_key=seaweed.credentials.secret_key,
            local_token=TOKEN,
        )
    )
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    yield Fuzzed(schema, _seed(app))
    app.state.engine.dispose()
    if database is not None:
        components.drop_postgres_database(database)


def _aim(case, ids: dict[str, str]) -> None:
    """Point well-formed ids at existing entities, so that bodies reach the database.

    Random UUIDs name nothing: without this, almost every write stops at a 404 before any text
    is stored, and a value the database refuses never gets there.
    """
    for name in list(case.path_parameters or {}):
        kind = name.removesuffix("_id")
        if kind in ids and _is_uuid(case.path_parameters[name]):
            case.path_parameters[name] = ids[kind]
    if isinstance(case.body, dict):
        for kind in ("project", "proposal", "sample", "experiment"):
            if _is_uuid(case.body.get(kind)):
                case.body[kind] = ids[kind]


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def test_no_route_answers_5xx(fuzzed):
    """Every operation, up to EXAMPLES requests each, generated to fit the schema."""
    operations = [result.ok() for result in fuzzed.schema.get_all_operations()]
    assert len(operations) >= 30
    failures: list[str] = []
    statuses: list[int] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            _aim(case, fuzzed.ids)
            response = case.call(headers=AUTH)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:300]}"
                )

        check()
    assert not failures, "\n".join(failures[:40])
    assert len(statuses) > 10 * len(operations)  # the fuzzer really exercised the API
    assert {200, 201, 404, 422} <= set(statuses)
