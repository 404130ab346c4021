"""Downloads: verified, resumed with Range after a cut, never a partial file under the final name.

Large files come as parallel ranges; their tests lower the threshold and the range size (1 MiB
ranges) so that a few MiB make many ranges, and read which ranges were fetched from the `Range`
headers the downloader sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lamefair_desktop.transfer.aria2_export import export_aria2
from lamefair_desktop.transfer.download import (
    PARTIAL_SUFFIX,
    Downloader,
    DownloadError,
    StoredCopyChanged,
)
from lamefair_desktop.transfer.ranged_download import sidecar_path
from lamefair_desktop.transfer.upload import Uploader, UploadSettings

MiB = 1024 * 1024


def _upload(client, queue, experiment, tmp_path, files: dict[str, int]) -> tuple[dict, Path]:
    folder = tmp_path / "src" / "run"
    for rel, size in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(os.urandom(size))
    uploader = Uploader(client, queue, UploadSettings(stable_seconds=0.05))
    measurement = uploader.register(experiment["id"], [folder])
    assert set(uploader.run()) == {"stored"}
    return measurement, folder


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_file_and_folder_downloads_are_verified_and_keep_paths(
    client, queue, experiment, api, tmp_path
):
    measurement, folder = _upload(
        client, queue, experiment, tmp_path, {"a.tif": 5000, "sub/b.tif": 9 * MiB, "sub/c.txt": 3}
    )
    events = []
    downloader = Downloader(client, progress=events.append)
    by_path = {f["path"]: f for f in measurement["files"]}
    out = tmp_path / "out"
    saved = downloader.file(by_path["run/sub/b.tif"]["id"], out)
    assert saved == out / "run" / "sub" / "b.tif"
    assert _sha(saved) == _sha(folder / "sub" / "b.tif")
    assert events[-1].state == "verified"

    raw_bucket = api.ok(api.get(f"/api/files/{by_path['run/a.tif']['id']}"))["bucket"]
    prefix = by_path["run/a.tif"]["key"].rsplit("/run/", 1)[0]  # the measurement folder
    listed = downloader.list_prefix(raw_bucket, prefix)
    assert all(o.sha256 for o in listed if not o.key.endswith("README.txt"))
    written = downloader.prefix(raw_bucket, prefix, tmp_path / "folder")
    names = sorted(p.relative_to(tmp_path / "folder").as_posix() for p in written)
    top = prefix.rsplit("/", 1)[-1]
    assert names == [
        f"{top}/README.txt",
        f"{top}/run/a.tif",
        f"{top}/run/sub/b.tif",
        f"{top}/run/sub/c.txt",
    ]
    assert _sha(tmp_path / "folder" / top / "run" / "sub" / "b.tif") == _sha(
        folder / "sub" / "b.tif"
    )
    # The measurement's README.txt on its own (the bucket browser's Download and Preview): the
    # name reserved in uploads is saved like any file (it was refused as "reserved").
    [readme] = [o for o in listed if o.key.endswith("/README.txt")]
    alone = downloader.object(replace(readme, relative_path="README.txt"), tmp_path / "one")
    assert alone == tmp_path / "one" / "README.txt"
    assert alone.read_bytes() == (tmp_path / "folder" / top / "README.txt").read_bytes()
    manifest = tmp_path / "bulk.aria2"
    assert export_aria2(client, raw_bucket, prefix, manifest) == 4
    text = manifest.read_text()
    assert f"  out={top}/run/sub/b.tif" in text
    assert f"  checksum=sha-256={_sha(folder / 'sub' / 'b.tif')}" in text
    assert "X-Amz-Signature=" in text


def test_download_resumes_with_range_after_a_cut(client, queue, experiment, tmp_path, s3_proxy):
    measurement, folder = _upload(client, queue, experiment, tmp_path, {"big.bin": 40 * MiB})
    file_id = measurement["files"][0]["id"]
    out = tmp_path / "out"
    target = out / "run" / "big.bin"
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    state = {}

    def cut_midway(progress) -> None:
        if progress.bytes_done > 10 * MiB and "cut" not in state:
            state["cut"] = True
            s3_proxy.cut()
            threading.Timer(1.0, s3_proxy.restore).start()

    downloader = Downloader(client, progress=cut_midway, backoff=0.5)
    downloader.file(file_id, out)
    assert state.get("cut")
    assert target.exists()
    assert not partial.exists()
    assert _sha(target) == _sha(folder / "big.bin")


def test_interrupted_download_leaves_only_a_partial_file_then_continues(
    client, queue, experiment, tmp_path
):
    measurement, folder = _upload(client, queue, experiment, tmp_path, {"resume.bin": 20 * MiB})
    file_id = measurement["files"][0]["id"]
    out = tmp_path / "out"
    target = out / "run" / "resume.bin"
    cancel = threading.Event()

    def stop_early(progress) -> None:
        if progress.bytes_done > 5 * MiB:
            cancel.set()

    with pytest.raises(DownloadError, match="cancelled"):
        Downloader(client, progress=stop_early).file(file_id, out, cancel=cancel)
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    assert not target.exists()
    kept = partial.stat().st_size
    assert 5 * MiB < kept < 20 * MiB

    received = []
    Downloader(client, progress=lambda p: received.append(p.bytes_done)).file(file_id, out)
    assert received[0] > kept  # it continued from the partial file, not from zero
    assert _sha(target) == _sha(folder / "resume.bin")


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 16 MiB tmpfs to fill up; skipped where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True
    )
    if result.returncode != 0:
        from tests.support.components import unavailable

        unavailable("tmpfs mount", result.stderr.decode(errors="replace").strip())
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_is_reported_and_keeps_the_partial_file(
    client, queue, experiment, tmp_path, tiny_filesystem
):
    measurement, _ = _upload(client, queue, experiment, tmp_path, {"huge.bin": 24 * MiB})
    with pytest.raises(DownloadError) as info:
        Downloader(client).file(measurement["files"][0]["id"], tiny_filesystem)
    message = str(info.value)
    assert "is full" in message
    assert "run the download again" in message
    assert not (tiny_filesystem / "run" / "huge.bin").exists()
    assert (tiny_filesystem / "run" / f"huge.bin{PARTIAL_SUFFIX}").exists()


def test_tampered_download_is_refused_and_removed(client, queue, experiment, tmp_path):
    measurement, _ = _upload(client, queue, experiment, tmp_path, {"x.bin": 1000})
    info = client.download_url(measurement["files"][0]["id"])
    target = tmp_path / "x.bin"
    with pytest.raises(DownloadError, match="differs from what was uploaded"):
        Downloader(client).fetch(
            lambda: info["url"], target, size=1000, sha256="0" * 64, label="x.bin"
        )
    assert not target.exists()
    assert not list(tmp_path.glob(f"*{PARTIAL_SUFFIX}"))


def test_an_object_changed_behind_the_catalogs_back_is_named_as_such(
    client, queue, experiment, api, tmp_path, s3_client
):
    """Same length, shorter, longer: each says the stored copy changed, none says 'try again'."""
    sizes = {"same.bin": 300_000, "shorter.bin": 300_000, "longer.bin": 300_000}
    measurement, _ = _upload(client, queue, experiment, tmp_path, sizes)
    replacements = {"same.bin": 300_000, "shorter.bin": 1000, "longer.bin": 400_000}
    out = tmp_path / "out"
    for file in measurement["files"]:
        name = file["path"].rsplit("/", 1)[-1]
        bucket = api.ok(api.get(f"/api/files/{file['id']}"))["bucket"]
        s3_client.put_object(Bucket=bucket, Key=file["key"], Body=os.urandom(replacements[name]))

        with pytest.raises(StoredCopyChanged) as info:
            Downloader(client).file(file["id"], out)
        message = str(info.value)
        assert (
            f"the stored copy of {file['path']} differs from what was uploaded: "
            "storage was changed outside lamefair" in message.lower()
        ), message
        assert "try again" not in message
        assert "416" not in message
        target = out / file["path"]
        assert not target.exists()
        assert not target.with_name(target.name + PARTIAL_SUFFIX).exists()


# --- parallel ranges ------------------------------------------------------------------------
RANGED = {"ranged_threshold": 2 * MiB, "range_size": MiB, "streams": 3}


def _ranges_asked(downloader: Downloader) -> list[tuple[int, int]]:
    """Every `Range: bytes=a-b` this downloader sends, as (a, b)."""
    asked: list[tuple[int, int]] = []

    def record(request) -> None:
        if "range" in request.headers:
            first, _, last = request.headers["range"].removeprefix("bytes=").partition("-")
            asked.append((int(first), int(last)))

    downloader.http.event_hooks["request"].append(record)
    return asked


def _pieces(asked: list[tuple[int, int]]) -> set[int]:
    return {last // MiB for _, last in asked}


def test_a_large_file_comes_in_parallel_ranges_through_an_expired_url(
    client, queue, experiment, tmp_path
):
    measurement, folder = _upload(client, queue, experiment, tmp_path, {"big.bin": 9 * MiB + 5})
    info = client.download_url(measurement["files"][0]["id"])
    time.sleep(3.5)  # longer than the 3 s presign TTL: the URL in hand has expired
    fresh = []

    def url_source() -> str:
        fresh.append(1)
        return client.download_url(measurement["files"][0]["id"])["url"]

    downloader = Downloader(client, **RANGED)
    asked = _ranges_asked(downloader)
    target = tmp_path / "out" / "big.bin"
    downloader.fetch(
        url_source,
        target,
        size=info["size"],
        sha256=info["sha256"],
        label="big.bin",
        first_url=info["url"],
    )
    assert _sha(target) == _sha(folder / "big.bin")
    assert _pieces(asked) == set(range(10))  # ten ranges, the last one of 5 bytes
    assert fresh  # the expired URL was replaced
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    assert not partial.exists()
    assert not sidecar_path(partial).exists()


SLOW_DOWNLOAD = """
import sys, time
from pathlib import Path
from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.transfer.download import Downloader
url, token, file_id, out = sys.argv[1:5]
with CatalogClient(url, token) as client:
    downloader = Downloader(client, progress=lambda p: time.sleep(0.1),
                            ranged_threshold=2 << 20, range_size=1 << 20, streams=3)
    downloader.file(file_id, Path(out))
"""


def test_a_download_killed_mid_way_fetches_only_the_missing_ranges(
    client, queue, experiment, tmp_path, transfer_catalog, admin_token
):
    measurement, folder = _upload(client, queue, experiment, tmp_path, {"resume.bin": 16 * MiB})
    file_id = measurement["files"][0]["id"]
    out = tmp_path / "out"
    target = out / "run" / "resume.bin"
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_DOWNLOAD, transfer_catalog.url, admin_token, file_id, str(out)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 60
        done: list[int] = []
        while len(done) < 4:
            assert child.poll() is None, "the download ended before it could be killed"
            assert time.monotonic() < deadline, "no range finished within 60 s"
            with contextlib.suppress(OSError, ValueError):  # not written yet
                done = json.loads(sidecar_path(partial).read_text())["done"]
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert not target.exists()
    done = json.loads(sidecar_path(partial).read_text())["done"]  # as the kill left it
    assert 4 <= len(done) < 16

    downloader = Downloader(client, **RANGED)
    asked = _ranges_asked(downloader)
    assert downloader.file(file_id, out) == target
    assert _sha(target) == _sha(folder / "resume.bin")
    assert _pieces(asked) == set(range(16)) - set(done)  # no finished range fetched again
    assert not partial.exists()
    assert not sidecar_path(partial).exists()


def test_an_object_replaced_between_two_runs_of_a_ranged_download_is_refused(
    client, queue, experiment, api, tmp_path, s3_client
):
    """Half the ranges from the old bytes, half from the new: the SHA-256 of the whole says so,
    a fresh start from zero gets the new bytes only, and those are not what was uploaded."""
    measurement, _ = _upload(client, queue, experiment, tmp_path, {"swap.bin": 8 * MiB})
    file = measurement["files"][0]
    out = tmp_path / "out"
    target = out / "run" / "swap.bin"
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    cancel = threading.Event()

    def stop_early(progress) -> None:
        if progress.bytes_done >= 3 * MiB:
            cancel.set()

    with pytest.raises(DownloadError, match="cancelled"):
        Downloader(client, progress=stop_early, **RANGED).file(file["id"], out, cancel=cancel)
    kept = json.loads(sidecar_path(partial).read_text())["done"]
    assert 0 < len(kept) < 8

    bucket = api.ok(api.get(f"/api/files/{file['id']}"))["bucket"]
    s3_client.put_object(Bucket=bucket, Key=file["key"], Body=os.urandom(8 * MiB))
    downloader = Downloader(client, **RANGED)
    asked = _ranges_asked(downloader)
    with pytest.raises(StoredCopyChanged, match="storage was changed outside lamefair"):
        downloader.file(file["id"], out)
    assert set(kept) <= _pieces(asked)  # the kept ranges were fetched again, from zero
    assert not target.exists()
    assert not partial.exists()
    assert not sidecar_path(partial).exists()


def test_a_shorter_stored_object_stops_every_range_at_once(
    client, queue, experiment, api, tmp_path, s3_client
):
    measurement, _ = _upload(client, queue, experiment, tmp_path, {"short.bin": 6 * MiB})
    file = measurement["files"][0]
    bucket = api.ok(api.get(f"/api/files/{file['id']}"))["bucket"]
    s3_client.put_object(Bucket=bucket, Key=file["key"], Body=os.urandom(MiB))
    downloader = Downloader(client, **RANGED)
    asked = _ranges_asked(downloader)
    with pytest.raises(StoredCopyChanged, match="differs from what was uploaded"):
        downloader.file(file["id"], tmp_path / "out")
    assert 1 <= len(asked) <= RANGED["streams"]  # each stream's first answer said so: no retry
    partial = tmp_path / "out" / "run" / f"short.bin{PARTIAL_SUFFIX}"
    assert not partial.exists()
    assert not sidecar_path(partial).exists()
