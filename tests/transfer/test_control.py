"""Pause, resume, cancel; the catalog and S3 restarted under a running upload."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from lamefair_desktop.transfer.upload import Uploader, UploadSettings

MiB = 1024 * 1024
PATIENT = UploadSettings(
    part_concurrency=1,
    stable_seconds=0.05,
    backoff=0.5,
    max_backoff=2.0,
    attempts=12,
    retry_waiting_after=1.0,
)


def _source(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def _run_in_thread(uploader: Uploader) -> tuple[threading.Thread, dict]:
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(counts=uploader.run()))
    thread.start()
    return thread, result


def _wait_parts(uploader: Uploader, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(uploader.sent_parts) < count and time.monotonic() < deadline:
        time.sleep(0.002)


def _stored_sha(api, experiment, name: str) -> str:
    files = {
        f["path"]: f
        for m in api.ok(api.get("/api/measurements", experiment=experiment["id"]))
        for f in m["files"]
    }
    info = api.ok(api.get(f"/api/files/{files[name]['id']}/download"))
    import httpx

    return hashlib.sha256(httpx.get(info["url"], timeout=60).content).hexdigest()


def test_pause_then_resume_continues_without_resending(client, queue, experiment, tmp_path, api):
    source = _source(tmp_path, "pause.bin", 6 * 8 * MiB)
    uploader = Uploader(client, queue, PATIENT)
    measurement = uploader.register(experiment["id"], [source])
    file_id = measurement["files"][0]["id"]
    thread, result = _run_in_thread(uploader)
    _wait_parts(uploader, 1)
    uploader.pause(file_id)
    thread.join(60)
    assert queue.get(file_id).state == "paused"
    sent_before = {n for _, n in uploader.sent_parts}
    assert 1 <= len(sent_before) < 6
    uploader.resume(file_id)
    assert uploader.run() == {"stored": 1}
    numbers = [n for _, n in uploader.sent_parts]
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]  # each part exactly once
    assert (
        _stored_sha(api, experiment, "pause.bin") == hashlib.sha256(source.read_bytes()).hexdigest()
    )


def test_cancel_aborts_the_multipart_upload(client, queue, experiment, tmp_path, api):
    source = _source(tmp_path, "cancel.bin", 6 * 8 * MiB)
    uploader = Uploader(client, queue, PATIENT)
    measurement = uploader.register(experiment["id"], [source])
    file_id = measurement["files"][0]["id"]
    thread, _ = _run_in_thread(uploader)
    _wait_parts(uploader, 1)
    uploader.cancel(file_id)
    thread.join(60)
    assert queue.get(file_id).state == "cancelled"
    server_file = api.ok(api.get(f"/api/files/{file_id}"))
    assert server_file["state"] == "pending"  # the upload was aborted on the server and in S3
    fresh = api.ok(api.post(f"/api/files/{file_id}/upload"))
    assert fresh["parts_done"] == []


def test_catalog_restarted_mid_upload(client, queue, experiment, tmp_path, api, transfer_catalog):
    source = _source(tmp_path, "reboot.bin", 5 * 8 * MiB)
    uploader = Uploader(client, queue, PATIENT)
    uploader.register(experiment["id"], [source])
    thread, result = _run_in_thread(uploader)
    _wait_parts(uploader, 1)
    transfer_catalog.stop()
    time.sleep(2)
    transfer_catalog.restart()
    thread.join(120)
    assert result["counts"] == {"stored": 1}
    assert (
        _stored_sha(api, experiment, "reboot.bin")
        == hashlib.sha256(source.read_bytes()).hexdigest()
    )


def test_s3_restarted_mid_upload(client, queue, experiment, tmp_path, api, seaweed):
    source = _source(tmp_path, "s3-reboot.bin", 5 * 8 * MiB)
    uploader = Uploader(client, queue, PATIENT)
    uploader.register(experiment["id"], [source])
    thread, result = _run_in_thread(uploader)
    _wait_parts(uploader, 1)
    seaweed.stop()
    seaweed.start()
    thread.join(180)
    assert result["counts"] == {"stored": 1}
    assert (
        _stored_sha(api, experiment, "s3-reboot.bin")
        == hashlib.sha256(source.read_bytes()).hexdigest()
    )
