"""The local cache follows the change feed; offline creates wait in the outbox; conflicts show."""

from __future__ import annotations

import pytest

from lamefair_desktop.catalog.client import CatalogUnreachable
from lamefair_desktop.catalog.sync import Sync, describe
from lamefair_desktop.home.local_db import open_local_db


@pytest.fixture
def sync(proxied_client, tmp_path) -> Sync:
    return Sync(proxied_client, open_local_db(tmp_path / "cache.sqlite"))


def test_pull_builds_the_tree_and_is_incremental(sync, api):
    h = api.make_hierarchy()
    assert sync.pull() > 0
    cache = sync.cache
    proposals = cache.children("proposal", h["project"]["id"])
    assert [p.id for p in proposals] == [h["proposal"]["id"]]
    assert proposals[0].name == h["proposal"]["number"]
    assert [e.name for e in cache.children("experiment", h["sample"]["id"])] == ["TEM session 1"]
    measurement = api.ok(
        api.post(
            "/api/measurements",
            {
                "experiment": h["experiment"]["id"],
                "files": [{"path": "a/b.tif", "size": 1, "sha256": "ab" * 32}],
            },
        )
    )
    api.patch(f"/api/samples/{h['sample']['id']}", {"description": "annealed"})
    assert sync.pull() >= 2  # only what is new
    assert cache.get(h["sample"]["id"]).data["description"] == "annealed"
    files = cache.children("file", measurement["id"])
    assert [f.name for f in files] == ["a/b.tif"]
    assert files[0].data["state"] == "pending"
    assert sync.pull() == 0


def test_offline_create_waits_in_the_outbox_and_is_sent_when_back(sync, api, catalog_proxy):
    h = api.make_hierarchy()
    catalog_proxy.cut()
    node = sync.create("experiment", {"sample": h["sample"]["id"], "name": "Offline run"})
    assert node.pending
    assert [i.body["name"] for i in sync.outbox()] == ["Offline run"]
    assert sync.push() == []  # still offline: nothing lost, nothing sent
    catalog_proxy.restore()
    (sent,) = sync.push()
    assert sent.state == "sent"
    assert not sync.cache.get(node.id).pending
    assert api.ok(api.get(f"/api/experiments/{node.id}"))["name"] == "Offline run"
    assert sync.outbox() == []


def test_conflict_on_replay_is_kept_and_explained(sync, api, catalog_proxy):
    h = api.make_hierarchy()
    catalog_proxy.cut()
    sync.create("sample", {"proposal": h["proposal"]["id"], "name": "Grain B"})
    winner = api.make_sample(h["proposal"], name="Grain B")  # somebody else, online
    catalog_proxy.restore()
    (conflict,) = sync.push()
    assert conflict.state == "conflict"
    assert conflict.existing_id == winner["id"]
    assert "already exists" in describe(conflict)
    assert [i.state for i in sync.outbox()] == ["conflict"]  # shown until the user decides
    sync.discard(conflict.id)
    assert sync.outbox() == []
    assert sync.cache.get(conflict.id) is None


def test_projects_cannot_be_created_offline(sync, catalog_proxy):
    catalog_proxy.cut()
    with pytest.raises(CatalogUnreachable):
        sync.create("project", {"name": "needs the server"})
