"""Fuzz every route from the OpenAPI schema: whatever the input, never a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from lamefair_catalog.app import create_app
from lamefair_catalog.db import make_engine, migrate
from lamefair_catalog.settings import Settings

TOKEN = "fuzz-local-token"


@pytest.fixture(scope="module")
def catalog_schema(seaweed, tmp_path_factory):
    """The real app in-process (ASGI), on a migrated SQLite and the session's SeaweedFS."""
    database = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite"
    engine = make_engine(f"sqlite:///{database}")
    migrate(engine)
    engine.dispose()
    app = create_app(
        Settings(
            database_url=f"sqlite:///{database}",
            s3_endpoint=seaweed.endpoint,
            s3_access_key=seaweed.credentials.access_key,
            s3_secret_key=seaweed.credentials.secret_key,
            local_token=TOKEN,
        )
    )
    return schemathesis.openapi.from_asgi("/api/openapi.json", app)


def test_no_route_answers_5xx(catalog_schema):
    """Every operation, up to 25 generated requests each (valid and invalid shapes)."""
    operations = [result.ok() for result in catalog_schema.get_all_operations()]
    assert len(operations) >= 30
    failures: list[str] = []
    statuses: list[int] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:300]}"
                )

        check()
    assert not failures, "\n".join(failures[:10])
    assert len(statuses) > 300  # the fuzzer really exercised the API
    assert {200, 404, 422} <= set(statuses)
