"""Uploads through the real catalog and SeaweedFS, with the network and the process misbehaving."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest

from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.transfer.errors import UploadError
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings

MiB = 1024 * 1024
FAST = UploadSettings(stable_seconds=0.05, backoff=0.1, max_backoff=1.0, retry_waiting_after=0.5)


def _write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def _server_files(api, experiment) -> dict[str, dict]:
    measurements = api.ok(api.get("/api/measurements", experiment=experiment["id"]))
    return {f["path"]: f for m in measurements for f in m["files"]}


def _downloaded_sha(api, file_id: str) -> str:
    info = api.ok(api.get(f"/api/files/{file_id}/download"))
    return hashlib.sha256(httpx.get(info["url"], timeout=60).content).hexdigest()


def test_folder_upload_keeps_relative_paths_and_verifies_every_file(
    client, queue, api, experiment, tmp_path
):
    folder = tmp_path / "session-42"
    _write(folder / "overview.tif", 300_000)
    _write(folder / "stack" / "frames.tif", 19 * MiB)  # multipart: 3 parts of 8 MiB
    _write(folder / "stack" / "notes.txt", 10)
    events, totals = [], []
    uploader = Uploader(
        client, queue, FAST, progress=events.append, measurement_progress=totals.append
    )
    measurement = uploader.register(experiment["id"], [folder], operator="op-bob")
    assert {f["path"] for f in measurement["files"]} == {
        "session-42/overview.tif",
        "session-42/stack/frames.tif",
        "session-42/stack/notes.txt",
    }
    counts = uploader.run()
    assert counts == {"stored": 3}
    files = _server_files(api, experiment)
    for rel, local in (
        ("session-42/overview.tif", folder / "overview.tif"),
        ("session-42/stack/frames.tif", folder / "stack" / "frames.tif"),
    ):
        assert files[rel]["state"] == "stored"
        assert (
            _downloaded_sha(api, files[rel]["id"]) == hashlib.sha256(local.read_bytes()).hexdigest()
        )
    big = [e for e in events if e.path.endswith("frames.tif")]
    assert big[-1].state == "stored"
    assert big[-1].bytes_done == big[-1].size == 19 * MiB
    assert sorted(n for _, n in uploader.sent_parts) == [1, 2, 3]
    last = totals[-1]
    assert (last.files, last.files_stored, last.files_failed) == (3, 3, 0)
    # Counted from the first event on: the measurement is not "1 of 1 stored" after one file.
    assert {t.files for t in totals} == {3}
    assert last.bytes_done == last.size == 300_000 + 19 * MiB + 10


WORKER = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from lamefair_desktop.catalog.client import CatalogClient
    from lamefair_desktop.home.local_db import open_local_db
    from lamefair_desktop.transfer.queue import UploadQueue
    from lamefair_desktop.transfer.upload import Uploader, UploadSettings

    url, token, db, catalog_id = sys.argv[1:5]
    queue = UploadQueue(open_local_db(Path(db)))
    with CatalogClient(url, token, catalog_id=catalog_id) as client:
        Uploader(client, queue, UploadSettings(part_concurrency=1)).run()
    """
)


def test_kill_9_mid_upload_then_resume_sends_no_part_twice(
    client, queue, api, experiment, tmp_path, transfer_catalog, admin_token, s3_proxy
):
    source = _write(tmp_path / "big.bin", 6 * 8 * MiB + 123)  # 7 parts
    db = tmp_path / "local.sqlite"  # the `queue` fixture's database
    Uploader(client, queue, FAST).register(experiment["id"], [source])
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            WORKER,
            transfer_catalog.url,
            admin_token,
            str(db),
            client.catalog_id,
        ]
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            (item,) = queue.items()
            if item.upload_id and len(queue.parts(item.file_id, item.upload_id)) >= 2:
                break
            time.sleep(0.01)
        process.kill()  # kill -9, mid-part
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    (item,) = queue.items()
    assert item.state == "uploading"
    recorded = set(queue.parts(item.file_id, item.upload_id))
    assert 2 <= len(recorded) < 7

    resumed = Uploader(client, queue, FAST)
    assert resumed.run() == {"stored": 1}
    again = {n for _, n in resumed.sent_parts}
    assert not again & recorded, "parts already in S3 were sent again"
    # At most the one part that was in flight at the kill is sent by both processes.
    assert len(again) <= 7 - len(recorded)
    files = _server_files(api, experiment)
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    assert _downloaded_sha(api, files["big.bin"]["id"]) == expected
    # The whole file's SHA-256 is carried through the parts the first process sent.
    assert files["big.bin"]["sha256"] == expected


def test_network_cut_and_expired_urls_mid_multipart(
    client, queue, api, experiment, tmp_path, s3_proxy
):
    source = _write(tmp_path / "cut.bin", 5 * 8 * MiB)
    settings = UploadSettings(
        part_concurrency=1, stable_seconds=0.05, backoff=0.5, max_backoff=2.0, attempts=10
    )
    uploader = Uploader(client, queue, settings)
    uploader.register(experiment["id"], [source])
    done = threading.Event()
    result = {}

    def upload() -> None:
        result["counts"] = uploader.run()
        done.set()

    thread = threading.Thread(target=upload)
    started = time.monotonic()
    thread.start()
    deadline = time.monotonic() + 30
    while len(uploader.sent_parts) < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    s3_proxy.cut()
    time.sleep(4)  # longer than the 3 s presign TTL: the URLs in hand have expired
    s3_proxy.restore()
    assert done.wait(120)
    thread.join()
    assert result["counts"] == {"stored": 1}
    assert time.monotonic() - started > 3.5  # it really waited for the network
    assert uploader.retries["network"] >= 1
    assert uploader.retries["expired"] >= 1  # the URL in hand outlived its 3 s during the cut
    assert sorted(n for _, n in uploader.sent_parts) == [1, 2, 3, 4, 5]
    files = _server_files(api, experiment)
    assert (
        _downloaded_sha(api, files["cut.bin"]["id"])
        == hashlib.sha256(source.read_bytes()).hexdigest()
    )


def test_corrupted_part_is_refused_by_s3_and_resent_from_the_source(
    client, queue, api, experiment, tmp_path, s3_proxy
):
    source = _write(tmp_path / "flip.bin", 17 * MiB)
    uploader = Uploader(client, queue, UploadSettings(part_concurrency=1, stable_seconds=0.05))
    uploader.register(experiment["id"], [source])
    s3_proxy.corrupt_next_request()
    assert uploader.run() == {"stored": 1}
    assert uploader.retries["bad_digest"] == 1
    files = _server_files(api, experiment)
    assert (
        _downloaded_sha(api, files["flip.bin"]["id"])
        == hashlib.sha256(source.read_bytes()).hexdigest()
    )


def test_file_changed_or_deleted_while_queued_fails_clearly_and_is_not_stored(
    client, queue, api, experiment, tmp_path
):
    changed = _write(tmp_path / "changed.tif", 1000)
    deleted = _write(tmp_path / "deleted.tif", 1000)
    uploader = Uploader(client, queue, FAST)
    uploader.register(experiment["id"], [changed, deleted])
    changed.write_bytes(os.urandom(1001))
    deleted.unlink()
    assert uploader.run() == {"failed": 2}
    errors = {Path(i.local_path).name: i.error for i in queue.items()}
    assert "changed after it was queued" in errors["changed.tif"]
    assert "was deleted after it was queued" in errors["deleted.tif"]
    files = _server_files(api, experiment)
    assert files["changed.tif"]["state"] != "stored"
    assert files["deleted.tif"]["state"] != "stored"


def test_files_still_being_written_are_not_taken(client, queue, experiment, tmp_path):
    growing = _write(tmp_path / "growing.tif", 100)
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            with open(growing, "ab") as handle:
                handle.write(b"x" * 100)
            time.sleep(0.02)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        uploader = Uploader(client, queue, UploadSettings(stable_seconds=0.1, stable_checks=5))
        with pytest.raises(UploadError, match="kept changing"):
            uploader.register(experiment["id"], [growing])
    finally:
        stop.set()
        thread.join()
    assert queue.items() == []


def test_two_clients_upload_into_one_experiment_at_once(
    transfer_catalog, admin_token, api, experiment, tmp_path
):
    def client_run(name: str) -> dict:
        folder = tmp_path / name
        _write(folder / "a.tif", 200_000)
        _write(folder / "b.tif", 9 * MiB)
        local = UploadQueue(open_local_db(tmp_path / f"{name}.sqlite"))
        with CatalogClient(transfer_catalog.url, admin_token) as c:
            uploader = Uploader(c, local, FAST)
            uploader.register(experiment["id"], [folder])
            return uploader.run()

    results = {}
    threads = [
        threading.Thread(target=lambda n=n: results.__setitem__(n, client_run(n)))
        for n in ("pc-1", "pc-2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"pc-1": {"stored": 2}, "pc-2": {"stored": 2}}
    files = _server_files(api, experiment)
    assert {p for p, f in files.items() if f["state"] == "stored"} == {
        "pc-1/a.tif",
        "pc-1/b.tif",
        "pc-2/a.tif",
        "pc-2/b.tif",
    }


def test_run_with_patience_returns_while_the_network_is_down(
    client, queue, experiment, tmp_path, s3_proxy
):
    source = _write(tmp_path / "patient.bin", 2000)
    settings = UploadSettings(
        stable_seconds=0.05, attempts=2, backoff=0.05, retry_waiting_after=0.2
    )
    uploader = Uploader(client, queue, settings)
    uploader.register(experiment["id"], [source])
    s3_proxy.cut()
    try:
        started = time.monotonic()
        assert uploader.run(patience=1.0) == {"waiting": 1}
        assert time.monotonic() - started < 30
    finally:
        s3_proxy.restore()
    assert uploader.run() == {"stored": 1}  # nothing was lost while waiting
