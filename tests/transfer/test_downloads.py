"""Downloads: verified, resumed with Range after a cut, never a partial file under the final name."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from pathlib import Path

import pytest

from lamefair_desktop.transfer.aria2_export import export_aria2
from lamefair_desktop.transfer.download import (
    PARTIAL_SUFFIX,
    Downloader,
    DownloadError,
    StoredCopyChanged,
)
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
