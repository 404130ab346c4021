"""Large files download as parallel ranges, verified in the same pass, resumed range by range.

The threshold and the range size are lowered (1 MiB ranges) so that a few MiB make many ranges.
Which ranges were fetched is read from the `Range` headers the downloader sent.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from lamefair_desktop.transfer.download import (
    PARTIAL_SUFFIX,
    Downloader,
    DownloadError,
    StoredCopyChanged,
)
from lamefair_desktop.transfer.ranged_download import sidecar_path
from tests.transfer.test_downloads import _sha, _upload

MiB = 1024 * 1024
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
