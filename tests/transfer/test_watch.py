"""Watch folders against the real catalog and SeaweedFS: files are taken once they have settled,
exactly once, in order, across kills, network cuts and renames; problems are named, never fatal."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from lamefair_desktop.watch.rules import DEFAULT_EXCLUDE, WatchRule, WatchStore
from lamefair_desktop.watch.service import WatchService

FAST = UploadSettings(stable_seconds=0.05, backoff=0.1, max_backoff=1.0, retry_waiting_after=0.5)
LAMEFAIR = str(Path(sys.executable).parent / "lamefair")


class Rig:
    """A watch service, an uploader and the ledger for one folder, driven tick by tick."""

    def __init__(self, client, sessions, folder: Path, experiment: str, **rule) -> None:
        self.store = WatchStore(sessions)
        self.uploads = UploadQueue(sessions)
        self.uploader = Uploader(client, self.uploads, FAST)
        self.events = []
        self.rule = self.store.save_rule(
            WatchRule(
                id=str(uuid.uuid4()),
                server=client.catalog_key,
                folder=str(folder),
                experiment_id=experiment,
                quiet_seconds=rule.pop("quiet_seconds", 0.3),
                convert=rule.pop("convert", False),
                **rule,
            )
        )
        self.service = WatchService(
            self.store, self.uploader, DerivedQueue(sessions), log_event=self.events.append
        )

    def step(self) -> int:
        taken = self.service.tick()
        self.uploader.run()
        return taken

    def until(self, predicate, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.step()
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"not reached in {timeout} s; log: {self.log()[-5:]}")

    def ledger(self, states=None):
        return self.store.entries(self.rule.id, states)

    def log(self) -> list[str]:
        return [e.message for e in self.events]

    def close(self) -> None:
        self.uploader.close()


@pytest.fixture
def sessions(tmp_path):
    return open_local_db(tmp_path / "local.sqlite")


def _server_paths(api, experiment_id: str) -> list[str]:
    measurements = api.ok(api.get("/api/measurements", experiment=experiment_id))
    return [f["path"] for m in measurements for f in m["files"] if f["state"] == "stored"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_tiff_still_being_written_is_taken_only_when_complete(client, api, sessions, tmp_path):
    experiment = api.make_hierarchy()["experiment"]
    folder = tmp_path / "acquisition"
    folder.mkdir()
    target = folder / "stack.tif"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import time, numpy as np, tifffile
                with tifffile.TiffWriter({str(target)!r}) as tif:
                    for index in range(16):
                        tif.write(np.full((256, 256), index, np.uint16), contiguous=True)
                        tif.filehandle.flush()
                        time.sleep(0.25)
                """
            ),
        ]
    )
    rig = Rig(client, sessions, folder, experiment["id"], quiet_seconds=1.0)
    while writer.poll() is None:
        rig.step()
        assert rig.ledger() == [], "taken while the acquisition was still writing it"
        time.sleep(0.1)
    assert writer.returncode == 0
    rig.until(lambda: len(rig.ledger(("stored",))) == 1)
    [entry] = rig.ledger()
    assert entry.sha256 == _sha(target)  # the complete file, all 16 frames
    assert entry.size == target.stat().st_size
    assert _server_paths(api, experiment["id"]) == ["stack.tif"]
    rig.close()


def test_a_burst_of_1000_files_is_uploaded_once_and_in_order(client, api, sessions, tmp_path):
    experiment = api.make_hierarchy()["experiment"]
    folder = tmp_path / "burst"
    folder.mkdir()
    rig = Rig(client, sessions, folder, experiment["id"])
    written = []
    stop = threading.Event()

    def write() -> None:
        for index in range(1000):
            path = folder / f"frame_{index:04d}.dat"
            path.write_bytes(index.to_bytes(4, "big") * 256)
            written.append(path.name)
            if index % 50 == 0:
                time.sleep(0.05)  # the microscope writes in bursts, the watcher runs meanwhile
        stop.set()

    thread = threading.Thread(target=write)
    thread.start()
    while not stop.is_set():
        rig.step()
    thread.join()
    rig.until(lambda: len(rig.ledger(("stored",))) == 1000, timeout=180)
    stored = _server_paths(api, experiment["id"])
    assert len(stored) == 1000
    assert sorted(stored) == sorted(written)  # every file, none twice
    queued = [item.rel_path for item in rig.uploads.items()]
    assert queued == written  # taken in the order they were written
    rig.close()


def test_a_killed_watcher_restarts_without_duplicates_or_gaps(
    transfer_catalog, admin_token, api, tmp_path
):
    experiment = api.make_hierarchy()["experiment"]
    folder = tmp_path / "session"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    env |= {
        "LAMEFAIR_HOME": str(tmp_path / "home"),
        "LAMEFAIR_SERVER": transfer_catalog.url,
        "LAMEFAIR_TOKEN": admin_token,
    }
    command = [LAMEFAIR, "watch", str(folder), "--experiment", experiment["id"], "--quiet", "0.3"]
    watcher = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    names = [f"img_{index:03d}.raw" for index in range(300)]
    for index, name in enumerate(names[:150]):
        (folder / name).write_bytes(os.urandom(2048 + index))
    # Kill -9 as soon as the first batch is queued and others are still arriving.
    for line in watcher.stdout:
        if "file(s) queued" in line:
            break
    for index, name in enumerate(names[150:], start=150):
        (folder / name).write_bytes(os.urandom(2048 + index))
    watcher.send_signal(signal.SIGKILL)
    watcher.wait()

    # Restarted without arguments: the saved rule, a catch-up scan, the durable queue.
    again = subprocess.Popen([LAMEFAIR, "watch"], env=env, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(_server_paths(api, experiment["id"])) < 300:
        time.sleep(0.5)
    again.send_signal(signal.SIGTERM)
    out, _ = again.communicate(timeout=60)
    assert again.returncode == 0
    assert "stopped" in out
    stored = _server_paths(api, experiment["id"])
    assert sorted(stored) == sorted(names)  # nothing missed, nothing twice
    for name in names[::37]:
        remote = {
            f["path"]: f
            for m in api.ok(api.get("/api/measurements", experiment=experiment["id"]))
            for f in m["files"]
        }
        assert remote[name]["sha256"] == _sha(folder / name)


def test_a_network_cut_during_a_burst_delays_but_loses_nothing(
    proxied_client, catalog_proxy, api, sessions, tmp_path
):
    experiment = api.make_hierarchy()["experiment"]
    folder = tmp_path / "cut"
    folder.mkdir()
    rig = Rig(proxied_client, sessions, folder, experiment["id"])
    for index in range(40):
        (folder / f"a_{index:02d}.dat").write_bytes(os.urandom(1000))
    rig.until(lambda: len(rig.ledger(("stored",))) == 40)
    catalog_proxy.cut()
    for index in range(40):
        (folder / f"b_{index:02d}.dat").write_bytes(os.urandom(1000))
    deadline = time.monotonic() + 20
    while len(rig.ledger(("registering",))) < 40 and time.monotonic() < deadline:
        rig.service.tick()  # offline: settled files go into the ledger, registration waits
        time.sleep(0.2)  # settled means unchanged over scans spanning the quiet time
    assert any("wait for the catalog" in message for message in rig.log())
    assert len(rig.ledger(("registering",))) == 40
    catalog_proxy.restore()
    rig.until(lambda: len(rig.ledger(("stored",))) == 80)
    stored = _server_paths(api, experiment["id"])
    assert len(stored) == 80
    assert len(set(stored)) == 80
    rig.close()


def test_renames_and_changes_after_upload(client, api, sessions, tmp_path):
    experiment = api.make_hierarchy()["experiment"]
    folder = tmp_path / "renames"
    folder.mkdir()
    rig = Rig(client, sessions, folder, experiment["id"])
    first = folder / "overview.tif"
    first.write_bytes(os.urandom(5000))
    rig.until(lambda: len(rig.ledger(("stored",))) == 1)

    # A rename inside the folder: the same bytes are stored already, not sent again.
    first.rename(folder / "overview_grid3.tif")
    rig.until(lambda: any(e.state == "renamed" for e in rig.ledger()))
    assert any("renamed from overview.tif" in message for message in rig.log())
    # Written under a temporary name, then renamed into place: taken once, under the final name.
    (folder / "spectrum.dat.tmp").write_bytes(os.urandom(3000))
    time.sleep(0.5)
    rig.step()
    (folder / "spectrum.dat.tmp").rename(folder / "spectrum.dat")
    rig.until(lambda: "spectrum.dat" in _server_paths(api, experiment["id"]))

    # Changed after upload: a new version in a new measurement; the first stays as it was.
    changed = folder / "spectrum.dat"
    original = hashlib.sha256(changed.read_bytes()).hexdigest()
    changed.write_bytes(os.urandom(3100))
    rig.until(lambda: sum(1 for e in rig.ledger(("stored",)) if e.rel_path == "spectrum.dat") == 2)
    assert any("changed after upload: uploading it as version 2" in m for m in rig.log())
    measurements = api.ok(api.get("/api/measurements", experiment=experiment["id"]))
    versions = [f for m in measurements for f in m["files"] if f["path"] == "spectrum.dat"]
    assert {f["sha256"] for f in versions} == {original, _sha(changed)}
    assert len({f["key"] for f in versions}) == 2  # two objects: nothing overwritten
    assert sorted(_server_paths(api, experiment["id"])) == [
        "overview.tif",
        "spectrum.dat",
        "spectrum.dat",
    ]
    rig.close()


def test_free_space_is_opt_in_and_only_after_the_catalog_confirmed(client, api, sessions, tmp_path):
    experiment = api.make_hierarchy()["experiment"]
    kept_folder, freed_folder = tmp_path / "kept", tmp_path / "freed"
    kept_folder.mkdir()
    freed_folder.mkdir()
    (kept_folder / "a.dat").write_bytes(os.urandom(4000))
    (freed_folder / "b.dat").write_bytes(os.urandom(4000))
    rig = Rig(client, sessions, kept_folder, experiment["id"])
    freeing = rig.store.save_rule(
        WatchRule(
            id=str(uuid.uuid4()),
            server=client.catalog_key,
            folder=str(freed_folder),
            experiment_id=experiment["id"],
            quiet_seconds=0.3,
            convert=False,
            free_space=True,
        )
    )
    rig.until(lambda: len(rig.store.entries(freeing.id, ("freed",))) == 1)
    rig.until(lambda: len(rig.ledger(("stored",))) == 1)
    assert (kept_folder / "a.dat").exists()
    assert not (freed_folder / "b.dat").exists()
    assert "b.dat: stored and verified (SHA-256), local copy deleted." in rig.log()
    assert not any("a.dat: stored and verified" in m for m in rig.log())
    assert sorted(_server_paths(api, experiment["id"])) == ["a.dat", "b.dat"]
    rig.close()


def test_an_unreadable_file_is_named_and_the_others_continue(client, api, sessions, tmp_path):
    """Unreadable for real: without permission, or (as root, who reads everything) a special
    file the OS refuses to open, as a share refuses a file the acquisition still holds."""
    experiment = api.make_hierarchy()["experiment"]
    folder = tmp_path / "acq"
    folder.mkdir()
    (folder / "good_1.dat").write_bytes(os.urandom(1500))
    locked = folder / "locked.dat"
    if os.geteuid() == 0:
        holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        holder.bind(str(locked))
    else:
        locked.write_bytes(os.urandom(1500))
        os.chmod(locked, 0o000)
    (folder / "good_2.dat").write_bytes(os.urandom(1500))
    rig = Rig(client, sessions, folder, experiment["id"])
    rig.until(lambda: len(rig.ledger(("stored",))) == 2)
    for _ in range(3):
        rig.step()
    assert sorted(_server_paths(api, experiment["id"])) == ["good_1.dat", "good_2.dat"]
    problems = [e for e in rig.events if "locked.dat" in e.message]
    assert len(problems) == 1  # said once, not on every scan
    assert problems[0].level == "error"
    assert problems[0].message.startswith("locked.dat cannot be read (")
    assert "Check its permissions" in problems[0].message
    rig.close()


def test_rules_persist_and_patterns_filter(sessions, tmp_path):
    store = WatchStore(sessions)
    rule = store.save_rule(
        WatchRule(
            id=str(uuid.uuid4()),
            server="http://catalog",
            folder=str(tmp_path),
            experiment_id="e1",
            include=("*.tif", "*.dm4"),
            exclude=DEFAULT_EXCLUDE,
        )
    )
    again = WatchStore(open_local_db(tmp_path / "local.sqlite")).rules("http://catalog")
    assert again == [rule]
    assert rule.wants("grid/a.tif")
    assert not rule.wants("a.tif.tmp")
    assert not rule.wants(".hidden.tif")
    assert not rule.wants("notes.txt")
