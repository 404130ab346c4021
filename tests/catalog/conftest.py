"""A real catalog server per database backend (SQLite and PostgreSQL), signed in through the real
OIDC provider, storing into the real SeaweedFS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.catalog import ADMIN, MEMBER, OPERATOR, OUTSIDER, Api, oidc_login, start_catalog


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def catalog_database_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('catalog-sqlite') / 'catalog.sqlite'}"
    return request.getfixturevalue("postgres_database").url


@pytest.fixture(scope="session")
def catalog_server(catalog_database_url, seaweed, oidc_provider, tmp_path_factory) -> Iterator:
    server = start_catalog(
        catalog_database_url,
        seaweed,
        oidc_provider.issuer,
        tmp_path_factory.mktemp("catalog-logs"),
        LAMEFAIR_MULTIPART_THRESHOLD=str(16 * 1024 * 1024),
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tokens(oidc_provider) -> dict[str, str]:
    return {
        name: oidc_login(oidc_provider.issuer, name, groups)["access_token"]
        for name, groups in (ADMIN, OPERATOR, MEMBER, OUTSIDER)
    }


@pytest.fixture
def admin(catalog_server, tokens) -> Api:
    return Api(catalog_server.url, tokens[ADMIN[0]])


@pytest.fixture
def operator(catalog_server, tokens) -> Api:
    return Api(catalog_server.url, tokens[OPERATOR[0]])


@pytest.fixture
def member(catalog_server, tokens) -> Api:
    return Api(catalog_server.url, tokens[MEMBER[0]])


@pytest.fixture
def outsider(catalog_server, tokens) -> Api:
    return Api(catalog_server.url, tokens[OUTSIDER[0]])


@pytest.fixture
def anonymous(catalog_server) -> Api:
    return Api(catalog_server.url, None)
