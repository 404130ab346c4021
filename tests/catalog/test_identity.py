"""Identity is exact: whole group names, no token after its expiry, no ID token used as a bearer.

A catalog of its own, asking oidc-provider-mock about its opaque tokens: configured with a bare
admin group and a full-path operator group, and a one-second userinfo cache so that the cache's
lifetime can be watched. JWT-shaped ID tokens are tried on the JWT catalog of test_server_modes.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support import components
from tests.support.catalog import Api, oidc_login, start_catalog

ADMIN = ["admin", "operator", "reader"]
OPERATOR = ["operator", "reader"]
READER = ["reader"]
OPERATOR_GROUP = "/facility/lame-operators"  # configured as a full path below
TOKEN_SECONDS = 5  # short, yet long enough for a test's few requests on a busy machine


@pytest.fixture(scope="module")
def short_provider(tmp_path_factory):
    """Opaque access tokens (and ID tokens) that expire after TOKEN_SECONDS."""
    provider = components.start_oidc_provider(
        tmp_path_factory.mktemp("oidc-short"), "--token-max-age", str(TOKEN_SECONDS)
    )
    yield provider
    components.stop_pid(provider.process)


@pytest.fixture(scope="module")
def cached_catalog(short_provider, seaweed, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cached-catalog")
    server = start_catalog(
        f"sqlite:///{folder / 'c.sqlite'}",
        seaweed,
        short_provider.issuer,
        folder,
        LAMEFAIR_ADMIN_GROUP="lamepi",
        LAMEFAIR_OPERATOR_GROUP=OPERATOR_GROUP,
        LAMEFAIR_USERINFO_CACHE_SECONDS="1",
    )
    yield server
    server.stop()


def _me(url: str, token: str) -> httpx.Response:
    return httpx.get(f"{url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _roles(url: str, token: str) -> list[str]:
    response = _me(url, token)
    assert response.status_code == 200, response.text
    return response.json()["roles"]


def _token(provider, subject: str, groups: list[str]) -> str:
    return oidc_login(provider.issuer, subject, groups)["access_token"]


def test_groups_give_roles_by_whole_name_only(short_provider, cached_catalog):
    expected = {
        # admin group configured as the bare name "lamepi": that top-level group only
        "lamepi": ADMIN,
        "/lamepi": ADMIN,
        "physics/lamepi": READER,
        "/physics/lamepi": READER,
        "lamepi-guests": READER,
        # operator group configured as the full path "/facility/lame-operators": exactly that
        "/facility/lame-operators": OPERATOR,
        "lame-operators": READER,
        "x/lame-operators": READER,
        "/other/facility/lame-operators": READER,
    }
    seen = {
        group: _roles(cached_catalog.url, _token(short_provider, f"user-{index}", [group]))
        for index, group in enumerate(expected)
    }
    assert seen == expected


def test_proposal_membership_by_group_is_by_whole_name(short_provider, cached_catalog):
    admin = Api(cached_catalog.url, _token(short_provider, "pi-gil", ["lamepi"]))
    proposal = admin.make_proposal(admin.make_project(), members=["team-x", "/physics/team-y"])
    expected = {
        "team-x": 200,
        "/team-x": 200,
        "/physics/team-x": 403,
        "/physics/team-y": 200,
        "/team-y": 403,
    }
    seen = {}
    for index, group in enumerate(expected):
        member = Api(cached_catalog.url, _token(short_provider, f"member-{index}", [group]))
        seen[group] = member.get(f"/api/proposals/{proposal['id']}").status_code
    assert seen == expected


def test_an_id_token_from_the_provider_is_refused_as_a_bearer_token(short_provider, cached_catalog):
    answer = oidc_login(short_provider.issuer, "pi-ida", ["lamepi"])
    assert _roles(cached_catalog.url, answer["access_token"]) == ADMIN
    response = _me(cached_catalog.url, answer["id_token"])
    assert response.status_code == 401, response.text
    assert "not an access token" in response.json()["detail"]


def test_an_opaque_token_stops_working_soon_after_it_expires_though_it_was_cached(
    short_provider, cached_catalog
):
    issued = time.monotonic()
    token = oidc_login(short_provider.issuer, "op-eve", [OPERATOR_GROUP])["access_token"]
    assert _roles(cached_catalog.url, token) == OPERATOR  # the answer is now cached
    time.sleep(max(0.0, issued + TOKEN_SECONDS + 0.5 - time.monotonic()))  # expired now
    assert _me(cached_catalog.url, token).status_code == 401


def test_a_group_removed_at_the_provider_stops_counting_after_the_cache_lifetime(
    short_provider, cached_catalog
):
    token = oidc_login(short_provider.issuer, "op-fay", [OPERATOR_GROUP])["access_token"]
    assert _roles(cached_catalog.url, token) == OPERATOR
    short_provider.set_user_claims(
        "op-fay", {"sub": "op-fay", "preferred_username": "op-fay", "groups": []}
    )
    time.sleep(1.3)  # the catalog's userinfo cache lives 1 s here
    assert _roles(cached_catalog.url, token) == READER
