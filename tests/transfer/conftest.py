"""A catalog (SQLite) whose presigned URLs go through a loopback TCP proxy we can cut or corrupt."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.catalog.identity import probe
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.transfer.queue import UploadQueue
from tests.support.catalog import ADMIN, Api, oidc_login, start_catalog
from tests.support.tcp_proxy import TcpProxy

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def s3_proxy(seaweed) -> Iterator[TcpProxy]:
    target = urlparse(seaweed.endpoint)
    proxy = TcpProxy(target.hostname, target.port)
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def transfer_catalog(seaweed, oidc_provider, s3_proxy, tmp_path_factory):
    folder = tmp_path_factory.mktemp("transfer-catalog")
    server = start_catalog(
        f"sqlite:///{folder / 'c.sqlite'}",
        seaweed,
        oidc_provider.issuer,
        folder,
        LAMEFAIR_MULTIPART_THRESHOLD=str(8 * MiB),
        LAMEFAIR_S3_PUBLIC_ENDPOINT=s3_proxy.endpoint,
        LAMEFAIR_PRESIGN_TTL="3",
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin_token(oidc_provider) -> str:
    return oidc_login(oidc_provider.issuer, *ADMIN)["access_token"]


@pytest.fixture
def api(transfer_catalog, admin_token) -> Api:
    return Api(transfer_catalog.url, admin_token)


@pytest.fixture
def client(transfer_catalog, admin_token) -> Iterator[CatalogClient]:
    with CatalogClient(transfer_catalog.url, admin_token, attempts=4, backoff=0.1) as c:
        c.catalog_id = probe(c)  # as connect() learns it: rows are filed under the catalog's id
        yield c


@pytest.fixture
def queue(tmp_path) -> UploadQueue:
    return UploadQueue(open_local_db(tmp_path / "local.sqlite"))


@pytest.fixture
def experiment(api) -> dict:
    return api.make_hierarchy()["experiment"]


@pytest.fixture
def catalog_proxy(transfer_catalog) -> Iterator[TcpProxy]:
    """A cuttable path to the catalog itself, to play 'the server is unreachable'."""
    target = urlparse(transfer_catalog.url)
    proxy = TcpProxy(target.hostname, target.port)
    yield proxy
    proxy.close()


@pytest.fixture
def proxied_client(catalog_proxy, admin_token) -> Iterator[CatalogClient]:
    with CatalogClient(catalog_proxy.endpoint, admin_token, attempts=2, backoff=0.05) as c:
        yield c
