"""The transfer CLI as a script on an acquisition PC would use it: exit codes and plain output."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

LAMEFAIR = str(Path(sys.executable).parent / "lamefair")


def _run(env: dict, *args: str, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LAMEFAIR, *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    env["LAMEFAIR_HOME"] = str(tmp_path / "home")
    env.update(extra)
    return env


def test_upload_ls_queue_download_sync(transfer_catalog, admin_token, api, tmp_path):
    h = api.make_hierarchy()
    env = _env(tmp_path, LAMEFAIR_SERVER=transfer_catalog.url, LAMEFAIR_TOKEN=admin_token)
    folder = tmp_path / "acq"
    folder.mkdir()
    (folder / "img1.tif").write_bytes(os.urandom(2000))
    (folder / "img2.tif").write_bytes(os.urandom(9 * 1024 * 1024))
    upload = _run(
        env,
        "upload",
        "--experiment",
        h["experiment"]["id"],
        "--pair",
        "TEM_ED",
        "--operator",
        "op-bob",
        str(folder),
    )
    assert upload.returncode == 0, upload.stderr
    assert "stored: acq/img2.tif" in upload.stdout  # piped: plain lines, no bars
    assert "2 stored" in upload.stdout

    path = f"{h['project']['slug']}/{h['proposal']['number']}/{h['sample']['slug']}"
    listing = _run(env, "ls", path)
    assert listing.returncode == 0, listing.stderr
    assert "TEM session 1" in listing.stdout
    measurements = _run(env, "ls", f"{path}/{h['experiment']['name']}")
    assert "acq/img2.tif\tstored" in measurements.stdout

    queue = _run(env, "queue")
    assert queue.stdout.count("stored") == 2

    files = {
        f["path"]: f
        for m in api.ok(api.get("/api/measurements", experiment=h["experiment"]["id"]))
        for f in m["files"]
    }
    out = tmp_path / "out"
    one = _run(env, "download", files["acq/img2.tif"]["id"], "-o", str(out))
    assert one.returncode == 0, one.stderr
    assert (
        hashlib.sha256((out / "acq" / "img2.tif").read_bytes()).digest()
        == hashlib.sha256((folder / "img2.tif").read_bytes()).digest()
    )
    bucket = h["proposal"]["raw_bucket"]
    prefix = files["acq/img1.tif"]["key"].rsplit("/acq/", 1)[0]
    many = _run(env, "download", f"{bucket}/{prefix}", "-o", str(tmp_path / "all"))
    assert many.returncode == 0, many.stderr
    assert "saved 3 file(s)" in many.stdout  # two images and the measurement README
    manifest = _run(
        env, "download", f"{bucket}/{prefix}", "-o", ".", "--aria2", str(tmp_path / "m.aria2")
    )
    assert manifest.returncode == 0
    assert "checksum=sha-256=" in (tmp_path / "m.aria2").read_text()

    synced = _run(env, "sync")
    assert synced.returncode == 0
    assert "change(s) received" in synced.stdout


def test_unreachable_catalog_exits_3_and_keeps_nothing_half_done(tmp_path):
    env = _env(
        tmp_path,
        LAMEFAIR_SERVER="http://127.0.0.1:9",
        LAMEFAIR_TOKEN="x",
        LAMEFAIR_HTTP_ATTEMPTS="2",
    )
    result = _run(env, "sync")
    assert result.returncode == 3
    assert "Cannot reach the catalog" in result.stderr
    assert "Traceback" not in result.stderr
    image = tmp_path / "a.tif"
    image.write_bytes(b"x" * 10)
    upload = _run(env, "upload", "--experiment", "00000000-0000-0000-0000-000000000000", str(image))
    assert upload.returncode == 3
    assert "Traceback" not in upload.stderr


def test_an_upload_reports_its_own_files_whatever_the_queue_holds(
    transfer_catalog, admin_token, api, tmp_path
):
    """The queue keeps every file this PC ever sent; an upload's summary and exit code are its
    own files' only, not an old failure of another measurement."""
    from lamefair_desktop.home.local_db import open_local_db
    from lamefair_desktop.transfer.queue import UploadQueue
    from lamefair_desktop.transfer.states import UploadState

    h = api.make_hierarchy()
    env = _env(tmp_path, LAMEFAIR_SERVER=transfer_catalog.url, LAMEFAIR_TOKEN=admin_token)
    first, second = tmp_path / "a.tif", tmp_path / "b.tif"
    first.write_bytes(os.urandom(3000))
    second.write_bytes(os.urandom(3000))
    earlier = _run(env, "upload", "--experiment", h["experiment"]["id"], str(first))
    assert earlier.returncode == 0, earlier.stderr
    queue = UploadQueue(open_local_db(tmp_path / "home" / "data" / "lamefair.sqlite"))
    (old,) = queue.items()
    queue.set_state(old.file_id, UploadState.FAILED, "an old failure")

    upload = _run(env, "upload", "--experiment", h["experiment"]["id"], str(second))
    assert upload.returncode == 0, upload.stdout + upload.stderr
    assert upload.stdout.splitlines()[-1] == "1 stored"


def test_bad_token_exits_4(transfer_catalog, tmp_path):
    env = _env(tmp_path, LAMEFAIR_SERVER=transfer_catalog.url, LAMEFAIR_TOKEN="nonsense")
    result = _run(env, "sync")
    assert result.returncode == 4
    assert "lamefair login" in result.stderr


def test_without_configuration_the_cli_uses_the_local_catalog(tmp_path):
    env = _env(tmp_path)
    result = _run(env, "ls")
    assert result.returncode == 0, result.stderr
    info = tmp_path / "home" / "data" / "catalog" / "server.json"
    assert not info.exists()  # the CLI started it, and stopped it again


def test_upload_with_convert_stores_nxem_and_prints_the_verdict(
    transfer_catalog, admin_token, api, tmp_path, corpus_tiff_dir
):
    h = api.make_hierarchy()
    env = _env(tmp_path, LAMEFAIR_SERVER=transfer_catalog.url, LAMEFAIR_TOKEN=admin_token)
    folder = tmp_path / "saed"
    folder.mkdir()
    (folder / "pattern.tif").write_bytes(
        (corpus_tiff_dir / "JEOL-SightX-SAED-dummy.tif").read_bytes()
    )
    (folder / "broken.tif").write_bytes(b"MM\x00*" + b"\x01" * 64)
    result = _run(env, "upload", "--convert", "--experiment", h["experiment"]["id"], str(folder))
    assert "2 stored" in result.stdout
    assert "NXem: saed/pattern.tif: valid NXem (FAIRmat)" in result.stdout
    assert "NXem: saed/broken.tif: conversion failed" in result.stdout
    assert result.returncode == 1  # one conversion failed: a script must notice
    assert "Traceback" not in result.stderr + result.stdout
