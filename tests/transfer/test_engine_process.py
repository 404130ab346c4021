"""The engines in their own process, as the desktop runs them, against the real catalog and
SeaweedFS: they upload what this process queues, take what lands in a watch folder, obey pause
and resume, and stop at a clean point when asked or when the window's end of the pipe goes away."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamefair_desktop.engines.messages import (
    Control,
    EngineReady,
    EngineStopped,
    Kick,
    RulesChanged,
    SelectExperiment,
    UploadsIdle,
)
from lamefair_desktop.engines.process import EngineProcess, EngineTarget
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.transfer.progress import FileProgress
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from lamefair_desktop.watch.rules import WatchEvent, WatchRule, WatchStore

MiB = 1024 * 1024


class Child:
    """An engine process and everything it said so far."""

    def __init__(self, target: EngineTarget) -> None:
        self.engines = EngineProcess(target)
        self.events: list[object] = []

    def until(self, predicate, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self.engines.next_event(0.2)
            if event is not None:
                self.events.append(event)
            if predicate():
                return
        raise AssertionError(f"not reached in {timeout} s; last events: {self.events[-5:]}")

    def states(self) -> dict[str, str]:
        """The newest state of each file, as the window would show it."""
        return {e.path: e.state for e in self.events if isinstance(e, FileProgress)}


@pytest.fixture
def database(tmp_path) -> Path:
    return tmp_path / "local.sqlite"


@pytest.fixture
def child(transfer_catalog, admin_token, database, client) -> Iterator[Child]:
    open_local_db(database)  # the window has it open (and at its schema) before the child starts
    target = EngineTarget(
        server_url=transfer_catalog.url,
        database=str(database),
        token=admin_token,
        oidc=False,
        settings=Settings(),
        attempts=4,
        backoff=0.1,
        catalog_id=client.catalog_id,  # as EngineTarget.of(workspace) hands it over
    )
    child = Child(target)
    child.engines.start()
    child.until(lambda: any(isinstance(e, EngineReady) for e in child.events))
    yield child
    child.engines.stop()


def test_the_child_uploads_what_the_window_queued_and_obeys_pause(
    child, client, api, database, tmp_path
):
    experiment = api.make_hierarchy()["experiment"]
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "small.tif").write_bytes(os.urandom(3000))
    (folder / "large.raw").write_bytes(os.urandom(40 * MiB))
    # The window registers (hashes, asks the catalog) and queues; the child uploads.
    queue = UploadQueue(open_local_db(database))
    registering = Uploader(client, queue, UploadSettings(stable_seconds=0.05))
    measurement = registering.register(experiment["id"], [folder])
    registering.close()
    large = next(f["id"] for f in measurement["files"] if f["path"].endswith("large.raw"))
    child.engines.send(Control("pause", (large,)))
    child.engines.send(Kick())
    child.until(lambda: child.states().get("run/small.tif") == "stored")
    child.until(lambda: child.states().get("run/large.raw") == "paused")
    assert queue.get(large).state == "paused"

    child.engines.send(Control("resume", (large,)))
    child.until(lambda: child.states().get("run/large.raw") == "stored", timeout=120)
    child.until(
        lambda: any(
            isinstance(e, UploadsIdle) and e.counts.get("stored") == 2 for e in child.events
        )
    )
    stored = api.ok(api.get(f"/api/measurements/{measurement['id']}"))["files"]
    assert {f["state"] for f in stored} == {"stored"}


def test_the_child_watches_folders_for_the_selected_experiment(
    child, api, client, database, tmp_path
):
    experiment = api.make_hierarchy()["experiment"]
    folder = tmp_path / "microscope-out"
    folder.mkdir()
    store = WatchStore(open_local_db(database))
    store.save_rule(
        WatchRule(
            id=str(uuid.uuid4()),
            server=client.catalog_key,
            folder=str(folder),
            experiment_id="",  # follows the selection in the window
            quiet_seconds=0.3,
            convert=False,
        )
    )
    child.engines.send(SelectExperiment(experiment["id"]))
    child.engines.send(RulesChanged())
    (folder / "spectrum.msa").write_text("#FORMAT: EMSA/MAS spectral data file")
    child.until(lambda: child.states().get("spectrum.msa") == "stored")
    log = [e.message for e in child.events if isinstance(e, WatchEvent)]
    assert f"Watching {folder} (file events + scans)." in log
    assert "1 file(s) queued: spectrum.msa" in log
    measurements = api.ok(api.get("/api/measurements", experiment=experiment["id"]))
    assert [f["path"] for m in measurements for f in m["files"]] == ["spectrum.msa"]


def test_the_child_stops_cleanly_when_the_window_is_gone(child):
    """A crashed window closes its end of the pipe: the child stops at a clean point and exits,
    instead of uploading on as an orphan nobody can see."""
    child.engines._commands.close()
    child.until(lambda: any(isinstance(e, EngineStopped) for e in child.events), timeout=30)
    child.engines.process.join(10)
    assert child.engines.process.exitcode == 0
