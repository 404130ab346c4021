"""Upload throughput: lamefair (presigned, SHA-256 included) vs `rclone copy` and `aws s3 cp`.

Everything runs against the same embedded SeaweedFS on loopback, one after the other in one run:
one 1 GiB file, and 200 files of 4 MiB. lamefair's figure includes hashing every file (SHA-256),
registering the measurement, and the server's check of each object. Each tool runs in its own
process; its peak RSS (VmHWM) is reported next to its time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.catalog_bench import _s3_endpoint, _start_embedded, make_sample
from bench.report import figure, ratio

MiB = 1024 * 1024


def _write_random(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        remaining = size
        while remaining:
            block = min(remaining, 16 * MiB)
            handle.write(os.urandom(block))
            remaining -= block


def _ours_worker(url: str, token: str, experiment: str, source: str, home: str) -> None:
    os.environ["LAMEFAIR_HOME"] = home
    from lamefair_desktop.catalog.client import CatalogClient
    from lamefair_desktop.home.local_db import open_local_db
    from lamefair_desktop.transfer.queue import UploadQueue
    from lamefair_desktop.transfer.upload import Uploader

    started = time.perf_counter()
    with CatalogClient(url, token) as client:
        uploader = Uploader(client, UploadQueue(open_local_db()))
        uploader.register(experiment, [Path(source)])
        counts = uploader.run()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "counts": counts}))


def _timed(command: list[str], env: dict) -> tuple[float, int, str]:
    """Wall time, peak RSS (VmHWM, polled from /proc) and stdout of one command.

    ru_maxrss of a child is useless here: it starts from the forking parent's size.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {err.decode()[-500:]}")
    return seconds, peak, out.decode()


def run(quick: bool = False) -> None:
    big_size = (128 if quick else 1024) * MiB
    small_count = 20 if quick else 200
    beside = Path(sys.executable).parent.parent / "tools" / "bin" / "aws"  # from `make bench`
    rclone = shutil.which("rclone")
    aws = str(beside) if beside.is_file() else shutil.which("aws")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        process, url, token = _start_embedded(folder / "catalog")
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        try:
            proposal, sample = make_sample(http, "Transfer bench")
            experiments = [
                http.post("/api/experiments", json={"sample": sample["id"], "name": f"e{i}"}).json()
                for i in range(2)
            ]
            bucket = proposal["raw_bucket"]
            credentials = json.loads((folder / "catalog" / "s3-credentials.json").read_text())
            endpoint = _s3_endpoint(folder / "catalog")
            # Plain http on loopback: a CA bundle setting only confuses rclone's S3 transport.
            env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
            env = {
                **env,
                "AWS_ACCESS_KEY_ID": credentials["access_key"],
                "AWS_SECRET_ACCESS_KEY": credentials["secret_key"],
                "AWS_DEFAULT_REGION": "us-east-1",
                "RCLONE_CONFIG_BENCH_TYPE": "s3",
                "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
                "RCLONE_CONFIG_BENCH_ENDPOINT": endpoint,
                "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": credentials["access_key"],
                "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": credentials["secret_key"],
                "RCLONE_CONFIG_BENCH_REGION": "us-east-1",
            }
            big = folder / "data" / "big.bin"
            _write_random(big, big_size)
            smalls = folder / "data" / "many"
            for index in range(small_count):
                _write_random(smalls / f"f{index:03d}.bin", 4 * MiB)
            cases = [
                (f"one {big_size // MiB} MiB file", big, big_size, experiments[0]),
                (f"{small_count} files of 4 MiB", smalls, small_count * 4 * MiB, experiments[1]),
            ]
            for label, source, size, experiment in cases:
                worker = [sys.executable, "-m", "bench.transfer_bench", url, token]
                worker += [experiment["id"], str(source), str(folder / "home")]
                _, peak, out = _timed(worker, env)
                ours = json.loads(out.strip().splitlines()[-1])
                ours_rate = size / ours["seconds"] / MiB
                figure(
                    f"{label}: lamefair (SHA-256 + upload + verify)",
                    ours_rate,
                    "MiB/s",
                    f"peak RSS {peak / MiB:.0f} MiB",
                )
                others = []
                if rclone:
                    destination = f"bench:{bucket}/rclone/{source.name}"
                    command = (
                        [rclone, "copy", str(source), destination]
                        if source.is_dir()
                        else [rclone, "copyto", str(source), destination]
                    )
                    seconds, rss, _ = _timed(command, env)
                    others.append(size / seconds / MiB)
                    figure(
                        f"{label}: rclone copy",
                        others[-1],
                        "MiB/s",
                        f"peak RSS {rss / MiB:.0f} MiB",
                    )
                else:
                    print("   rclone: not installed (apt-get install rclone)")
                if aws:
                    command = [
                        aws,
                        "--endpoint-url",
                        endpoint,
                        "s3",
                        "cp",
                        str(source),
                        f"s3://{bucket}/aws/{source.name}",
                        "--only-show-errors",
                    ]
                    if source.is_dir():
                        command.insert(-1, "--recursive")
                    seconds, rss, _ = _timed(command, env)
                    others.append(size / seconds / MiB)
                    figure(
                        f"{label}: aws s3 cp", others[-1], "MiB/s", f"peak RSS {rss / MiB:.0f} MiB"
                    )
                else:
                    print("   aws: not installed (pip install awscli)")
                if others:
                    ratio(
                        f"{label}: lamefair / faster of the others (target >= 1)",
                        ours_rate,
                        max(others),
                    )
        finally:
            http.close()
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    _ours_worker(*sys.argv[1:6])
