"""Processes sharing one data folder cooperate, and the catalog hears when a client gives up.

The window's engines, `lamefair watch`, `lamefair upload` and `lamefair queue --resume` share one
upload queue; the catalog is the truth about what is stored.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from lamefair_desktop.cli.main import main
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings

LAMEFAIR = str(Path(sys.executable).parent / "lamefair")
MiB = 1024 * 1024


def _env(home: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    env["LAMEFAIR_HOME"] = str(home)
    env.update(extra)
    return env


def test_three_uploads_on_one_data_folder_store_every_file_once_and_all_exit_0(
    transfer_catalog, admin_token, api, s3_client, tmp_path
):
    h = api.make_hierarchy()
    env = _env(tmp_path / "home", LAMEFAIR_SERVER=transfer_catalog.url, LAMEFAIR_TOKEN=admin_token)
    acq = tmp_path / "acq"
    acq.mkdir()
    sizes = {"a.tif": 200_000, "b.tif": 300_000, "c.tif": 1000, "d.bin": 17 * MiB, "e.bin": 9 * MiB}
    for name, size in sizes.items():
        (acq / name).write_bytes(os.urandom(size))
    # Overlapping sets: every file is in two of the three uploads; the big ones are multipart.
    sets = [
        ("a.tif", "b.tif", "d.bin"),
        ("b.tif", "c.tif", "d.bin", "e.bin"),
        ("a.tif", "c.tif", "e.bin"),
    ]
    processes = [
        subprocess.Popen(
            [
                LAMEFAIR,
                "upload",
                "--experiment",
                h["experiment"]["id"],
                *(str(acq / n) for n in names),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for names in sets
    ]
    results = [(p.communicate(timeout=240), p.returncode) for p in processes]
    for (out, err), code in results:
        assert code == 0, f"stdout:\n{out}\nstderr:\n{err}"
        assert "Traceback" not in err

    queue = subprocess.run([LAMEFAIR, "queue"], env=env, capture_output=True, text=True, timeout=60)
    rows = queue.stdout.strip().splitlines()
    assert len(rows) == sum(len(s) for s in sets)
    assert all(row.startswith("stored\t") for row in rows), queue.stdout

    measurements = api.ok(api.get("/api/measurements", experiment=h["experiment"]["id"]))
    files = [f for m in measurements for f in m["files"]]
    assert sorted(f["path"] for f in files) == sorted(n for s in sets for n in s)
    for f in files:
        assert f["state"] == "stored", f
        assert f["sha256"] == hashlib.sha256((acq / f["path"]).read_bytes()).hexdigest()
    bucket = h["proposal"]["raw_bucket"]
    objects = [
        o
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
        if not o["Key"].endswith("README.txt")
    ]
    assert sorted(o["Key"] for o in objects) == sorted(f["key"] for f in files)
    assert {o["Key"]: o["Size"] for o in objects} == {f["key"]: f["size"] for f in files}
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_queue_resume_trusts_the_catalog_and_waits_for_a_file_another_process_sends(
    client, transfer_catalog, admin_token, experiment, lamefair_home, tmp_path
):
    queue = UploadQueue(open_local_db())  # the data folder `lamefair` uses (LAMEFAIR_HOME)
    settings = UploadSettings(stable_seconds=0.05)
    raced = tmp_path / "raced.tif"
    raced.write_bytes(os.urandom(3000))
    first = Uploader(client, queue, settings)
    (raced_id,) = (f["id"] for f in first.register(experiment["id"], [raced])["files"])
    assert first.run() == {"stored": 1}
    first.close()
    # What the losing process of a race left behind: the catalog has it stored, we say failed.
    queue.set_state(raced_id, "failed", "d.bin part 2: S3 answered 404: NoSuchUpload")

    busy = tmp_path / "busy.bin"
    busy.write_bytes(os.urandom(9 * MiB))
    other = Uploader(client, queue, settings)  # plays another lamefair process on this folder
    (busy_id,) = (f["id"] for f in other.register(experiment["id"], [busy])["files"])
    assert other.claims.take([busy_id]) == {busy_id}
    env = _env(lamefair_home, LAMEFAIR_SERVER=transfer_catalog.url, LAMEFAIR_TOKEN=admin_token)
    resume = subprocess.Popen(
        [LAMEFAIR, "queue", "--resume"], env=env, stdout=subprocess.PIPE, text=True
    )
    seen: list[str] = []
    waiting = threading.Event()

    def read() -> None:
        for line in resume.stdout:
            seen.append(line)
            if line.startswith("elsewhere: busy.bin"):
                waiting.set()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert waiting.wait(90), "".join(seen)  # it saw the claim and did not send busy.bin
        assert other.run() == {"stored": 2}  # the owner sends it; --resume waits meanwhile
        other.close()
        assert resume.wait(60) == 0, "".join(seen)
    finally:
        if resume.poll() is None:
            resume.kill()
        reader.join()
    output = "".join(seen)
    assert "stored: raced.tif (the catalog has it; the queue said failed)" in output
    assert "stored: busy.bin" in output
    assert {i.file_id: i.state for i in queue.items()} == {raced_id: "stored", busy_id: "stored"}


def test_source_changed_mid_upload_fails_it_in_the_catalog_and_aborts_it_in_s3(
    client, api, experiment, s3_client, tmp_path, capsys
):
    queue = UploadQueue(open_local_db())  # the data folder `lamefair queue` reads
    source = tmp_path / "scan.bin"
    source.write_bytes(os.urandom(17 * MiB))  # three parts, sent one at a time
    edited = threading.Event()

    def edit_after_first_part(event) -> None:
        if event.state == "uploading" and event.bytes_done and not edited.is_set():
            edited.set()
            with open(source, "r+b") as handle:  # someone re-saves the scan mid-upload
                handle.write(b"edited")

    settings = UploadSettings(part_concurrency=1, stable_seconds=0.05)
    uploader = Uploader(client, queue, settings, progress=edit_after_first_part)
    (file_id,) = (f["id"] for f in uploader.register(experiment["id"], [source])["files"])
    assert uploader.run() == {"failed": 1}
    uploader.close()
    assert edited.is_set()

    remote = api.ok(api.get(f"/api/files/{file_id}"))
    assert remote["state"] == "failed"  # not `uploading` for ever
    assert "changed after it was queued" in remote["error"]
    uploads = s3_client.list_multipart_uploads(Bucket=remote["bucket"], Prefix=remote["key"])
    assert uploads.get("Uploads", []) == []  # S3 dropped the parts sent before the change

    assert main(["queue"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("failed\t")
    assert "changed after it was queued" in line

    again = Uploader(client, queue, settings)  # the corrected file goes as a new measurement
    (new_id,) = (f["id"] for f in again.register(experiment["id"], [source])["files"])
    again.run()
    again.close()
    assert queue.get(new_id).state == "stored"
    assert api.ok(api.get(f"/api/files/{new_id}"))["state"] == "stored"


def test_a_cancel_from_another_process_is_carried_out_by_the_one_sending(
    client, queue, api, experiment, s3_client, tmp_path
):
    source = tmp_path / "long.bin"
    source.write_bytes(os.urandom(6 * 8 * MiB))
    settings = UploadSettings(part_concurrency=1, stable_seconds=0.05)
    sender = Uploader(client, queue, settings)  # say, `lamefair upload`
    window = Uploader(client, queue, settings)  # and the window, on the same data folder
    (file_id,) = (f["id"] for f in sender.register(experiment["id"], [source])["files"])
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(counts=sender.run()))
    thread.start()
    deadline = time.monotonic() + 30
    while not sender.sent_parts and time.monotonic() < deadline:
        time.sleep(0.002)
    window.cancel(file_id)
    thread.join(60)
    sender.close()
    window.close()
    assert result["counts"] == {"cancelled": 1}  # not `failed` by parts refused under it
    assert len(sender.sent_parts) < 6
    remote = api.ok(api.get(f"/api/files/{file_id}"))
    assert remote["state"] == "pending"
    uploads = s3_client.list_multipart_uploads(Bucket=remote["bucket"], Prefix=remote["key"])
    assert uploads.get("Uploads", []) == []
