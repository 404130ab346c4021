"""A watch folder on a case-sensitive disk: names the catalog refuses together go in turn."""

from __future__ import annotations

import os

import pytest

from lamefair_desktop.home.local_db import open_local_db
from tests.transfer.test_watch import Rig


@pytest.fixture
def sessions(tmp_path):
    return open_local_db(tmp_path / "local.sqlite")


def test_names_differing_only_in_case_are_stored_in_separate_measurements(
    client, api, sessions, tmp_path
):
    """One measurement may not hold A.tif and a.tif (one name on Windows and macOS); the watcher
    sends the second with the next batch instead of having the whole batch refused."""
    experiment = api.make_hierarchy()["experiment"]
    folder = tmp_path / "acq"
    folder.mkdir()
    for name in ("A.tif", "a.tif", "b.tif"):
        (folder / name).write_bytes(os.urandom(1500))
    rig = Rig(client, sessions, folder, experiment["id"])
    rig.until(lambda: len(rig.ledger(("stored",))) == 3)
    measurements = api.ok(api.get("/api/measurements", experiment=experiment["id"]))
    batches = [sorted(f["path"] for f in m["files"]) for m in measurements]
    assert sorted(path for batch in batches for path in batch) == ["A.tif", "a.tif", "b.tif"]
    assert len(batches) == 2
    assert all(len({path.lower() for path in batch}) == len(batch) for batch in batches)
    assert any("goes in the next batch" in message for message in rig.log())
    rig.close()
