"""Each byte of a source is read once, and a file written to while it uploads is never stored.

The catalog's SHA-256 of a file is computed from the very buffers that are sent; these tests make
sure that shortcut keeps every promise: what the catalog records is the stored object's hash, and
a file that changes mid-upload (even when its modification time is put back) fails instead.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from lamefair_desktop.transfer.upload import Uploader, UploadSettings

MiB = 1024 * 1024


def _write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def _server_file(api, experiment, name: str) -> dict:
    measurements = api.ok(api.get("/api/measurements", experiment=experiment["id"]))
    return next(f for m in measurements for f in m["files"] if f["path"] == name)


def _stored_sha(api, file: dict) -> str | None:
    """SHA-256 of the object in storage, or None if there is none."""
    found = api.get(f"/api/files/{file['id']}/download")
    if found.status_code != 200:
        return None
    return hashlib.sha256(httpx.get(found.json()["url"], timeout=60).content).hexdigest()


def test_file_written_to_mid_upload_is_never_stored_under_a_wrong_sha256(
    client, queue, api, experiment, tmp_path
):
    """Part 5 is rewritten after part 1 went out, and the mtime is put back as a careless copy
    tool would: before, the catalog recorded the SHA-256 taken at registration for an object
    holding the new part 5 (stored, with a SHA-256 no byte sequence in storage had)."""
    source = _write(tmp_path / "live.bin", 5 * 8 * MiB)  # 5 parts of 8 MiB (threshold 8 MiB)
    original = source.stat()
    settings = UploadSettings(part_concurrency=1, stable_seconds=0.05, backoff=0.1)
    rewritten = {}

    def progress(event) -> None:
        if event.bytes_done >= 8 * MiB and not rewritten:
            rewritten["yes"] = True
            with open(source, "r+b") as handle:
                handle.seek(4 * 8 * MiB + 100)
                handle.write(b"\0" * 4096)
            os.utime(source, ns=(original.st_atime_ns, original.st_mtime_ns))

    uploader = Uploader(client, queue, settings, progress=progress)
    uploader.register(experiment["id"], [source])
    counts = uploader.run()
    assert rewritten, "the file was never rewritten: the test did not run its fault"
    (item,) = queue.items()
    assert counts == {"failed": 1}, item.error
    assert "written to while it was being sent" in item.error
    remote = _server_file(api, experiment, "live.bin")
    assert remote["state"] == "failed"
    assert _stored_sha(api, remote) is None  # the multipart upload was aborted: nothing stored


def test_the_recorded_sha256_is_the_stored_objects_after_a_clean_upload(
    client, queue, api, experiment, tmp_path
):
    """Registered by size alone, a multipart file and a single-PUT file end with the catalog's
    SHA-256 equal to the source's and to the stored object's."""
    big = _write(tmp_path / "d" / "big.bin", 3 * 8 * MiB + 5)
    small = _write(tmp_path / "d" / "small.bin", 3 * MiB)
    uploader = Uploader(client, queue, UploadSettings(stable_seconds=0.05))
    measurement = uploader.register(experiment["id"], [tmp_path / "d"])
    assert all(f["sha256"] is None for f in measurement["files"])  # nothing read to register
    assert uploader.run() == {"stored": 2}
    for path in (big, small):
        remote = _server_file(api, experiment, f"d/{path.name}")
        expected = hashlib.sha256(path.read_bytes()).hexdigest()
        assert remote["sha256"] == expected
        assert _stored_sha(api, remote) == expected
        assert queue.get(remote["id"]).sha256 == expected


READS = textwrap.dedent(
    """
    import atexit, sys
    def report():
        for line in open("/proc/self/io"):
            if line.startswith("rchar:"):
                sys.stderr.write("READ " + line.split()[1] + "\\n")
    atexit.register(report)
    from lamefair_desktop.cli.main import main
    sys.argv[0] = "lamefair"
    sys.exit(main())
    """
)


def _bytes_read(args: list[str], env: dict) -> int:
    done = subprocess.run(
        [sys.executable, "-c", READS, *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return int(done.stderr.rsplit("READ ", 1)[1])


def test_lamefair_upload_reads_each_byte_once(
    transfer_catalog, admin_token, api, experiment, tmp_path
):
    """`lamefair upload` of 96 MiB (in parts) reads about 96 MiB, not twice that: the
    whole-file hash comes from the same reads as the parts'. A tiny upload measures what the
    command reads anyway (modules, the database), which is taken off."""
    env = {
        **os.environ,
        "LAMEFAIR_SERVER": transfer_catalog.url,
        "LAMEFAIR_TOKEN": admin_token,
    }
    tiny = _write(tmp_path / "tiny.bin", 10)
    big = _write(tmp_path / "big.bin", 96 * MiB)
    overhead = _bytes_read(
        ["upload", str(tiny), "--experiment", experiment["id"]],
        {**env, "LAMEFAIR_HOME": str(tmp_path / "home-tiny")},
    )
    total = _bytes_read(
        ["upload", str(big), "--experiment", experiment["id"]],
        {**env, "LAMEFAIR_HOME": str(tmp_path / "home-big")},
    )
    source_reads = total - overhead
    assert source_reads < 1.15 * 96 * MiB, f"read {source_reads / MiB:.0f} MiB of a 96 MiB file"
    remote = _server_file(api, experiment, "big.bin")
    assert remote["state"] == "stored"
    assert remote["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
