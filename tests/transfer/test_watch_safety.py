"""Watch folders never hand over a file still growing, and never delete one on any doubt."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lamefair_desktop.home.local_db import open_local_db
from tests.transfer.test_watch import Rig

HOUR_AGO = time.time() - 3600


@pytest.fixture
def sessions(tmp_path):
    return open_local_db(tmp_path / "local.sqlite")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _age(path: Path) -> None:
    """What copy tools do: keep the source's (old) modification time."""
    os.utime(path, (HOUR_AGO, HOUR_AGO))


def test_a_copy_keeping_an_old_mtime_is_taken_only_once_it_stops_growing(
    client, api, sessions, tmp_path
):
    experiment = api.make_hierarchy()["experiment"]
    folder = tmp_path / "incoming"
    folder.mkdir()
    target = folder / "copied.raw"
    target.write_bytes(os.urandom(100_000))
    _age(target)
    rig = Rig(client, sessions, folder, experiment["id"], quiet_seconds=1.0)
    for _ in range(4):
        rig.step()
        assert rig.ledger() == [], "taken while the copy was still writing it"
        with open(target, "ab") as handle:
            handle.write(os.urandom(100_000))
        _age(target)
    rig.until(lambda: len(rig.ledger(("stored",))) == 1)
    [entry] = rig.ledger()
    assert entry.size == 500_000
    assert entry.sha256 == _sha(target)  # the final content, not a prefix of it
    rig.close()


def test_free_space_keeps_the_file_on_any_doubt_and_says_why(
    proxied_client, catalog_proxy, api, sessions, tmp_path
):
    experiment = api.make_hierarchy()["experiment"]
    folder = tmp_path / "acq"
    folder.mkdir()
    for name in ("good.dat", "rewritten.dat", "grown.dat"):
        (folder / name).write_bytes(os.urandom(4000))
    rig = Rig(proxied_client, sessions, folder, experiment["id"])
    rig.until(lambda: len(rig.ledger(("stored",))) == 3)

    rewritten = folder / "rewritten.dat"  # same size and mtime, other bytes
    stat = rewritten.stat()
    rewritten.write_bytes(os.urandom(4000))
    os.utime(rewritten, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with open(folder / "grown.dat", "ab") as handle:
        handle.write(b"more")

    catalog_proxy.cut()  # the catalog cannot be asked
    rig.store.save_rule(replace(rig.rule, free_space=True))
    rig.service.tick()
    assert sorted(p.name for p in folder.iterdir()) == ["good.dat", "grown.dat", "rewritten.dat"]
    log = "\n".join(rig.log())
    assert "good.dat is kept, not deleted: the catalog could not confirm it" in log
    assert "grown.dat is kept, not deleted: it changed since it was uploaded" in log

    catalog_proxy.restore()
    rig.service.tick()
    assert not (folder / "good.dat").exists()  # every check passed: freed
    assert rewritten.exists()
    assert (folder / "grown.dat").exists()
    assert "rewritten.dat is kept, not deleted: its content now differs" in "\n".join(rig.log())

    # The queue believes a file stored that the catalog has not got: kept.
    (folder / "unsent.dat").write_bytes(os.urandom(4000))
    for _ in range(50):
        rig.service.tick()  # scan and register only, no upload
        queued = [e for e in rig.ledger(("queued",)) if e.rel_path == "unsent.dat"]
        if queued:
            break
        time.sleep(0.1)
    [unsent] = queued
    rig.uploads.set_state(unsent.file_id, "stored")
    rig.service.tick()
    assert (folder / "unsent.dat").exists()
    assert "unsent.dat is kept, not deleted: the catalog says it is pending" in "\n".join(rig.log())
    rig.close()
