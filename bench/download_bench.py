"""Download throughput: `lamefair download` (SHA-256 verified) vs `aws s3 cp` and `rclone copy`.

Black-box, as an operator runs it: each tool is a fresh process against the same embedded
SeaweedFS on loopback, one after the other in one run, bucket to local disk: one 1 GiB file (by
file id; parallel ranges) and a folder of 200 files of 4 MiB (BUCKET/PREFIX; a few files at a
time). The data is put there first with `lamefair upload`, so the catalog knows every SHA-256 and
lamefair checks each file while fetching it. Per tool: MiB/s, client CPU-s per GiB (user + sys of
the child, from os.wait4), peak RSS (VmHWM, polled from /proc: ru_maxrss of a child starts from
the forking parent's size), and the ratios to aws-cli.

lamefair fsyncs each file before renaming it into place (a power cut never leaves a verified name
on missing bytes); aws-cli and rclone do not, so lamefair's figures include writing to the disk.
Each tool starts after an os.sync(), so none pays for the dirty pages of the one before.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from bench.catalog_bench import _s3_endpoint, _start_embedded, make_sample
from bench.measure import Measured, measured
from bench.report import figure, ratio
from bench.transfer_bench import _write_random

MiB = 1024 * 1024
GiB = 1024 * MiB


def _run(command: list[str], env: dict) -> Measured:
    # Flush what the upload or the previous tool left dirty first: otherwise whoever runs next
    # pays for it, lamefair most (it fsyncs what it wrote, behind everybody's dirty pages).
    os.sync()
    return measured(command, env)


def _report(label: str, tool: str, size: int, run: Measured) -> float:
    rate = size / run.seconds / MiB
    note = f"{run.cpu / (size / GiB):.2f} CPU-s/GiB, peak RSS {run.peak / MiB:.0f} MiB"
    figure(f"{label}: {tool}", rate, "MiB/s", note)
    return rate


def _size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def run(quick: bool = False) -> None:
    big_size = (128 if quick else 1024) * MiB
    small_count = 20 if quick else 200
    beside = Path(sys.executable).parent.parent / "tools" / "bin" / "aws"  # from `make bench`
    aws = str(beside) if beside.is_file() else shutil.which("aws")
    rclone = shutil.which("rclone")
    lamefair = str(Path(sys.executable).parent / "lamefair")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        process, url, token = _start_embedded(folder / "catalog")
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        try:
            proposal, sample = make_sample(http, "Download bench")
            bucket = proposal["raw_bucket"]
            credentials = json.loads((folder / "catalog" / "s3-credentials.json").read_text())
            endpoint = _s3_endpoint(folder / "catalog")
            env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
            env = {
                **env,
                "LAMEFAIR_SERVER": url,
                "LAMEFAIR_TOKEN": token,
                "LAMEFAIR_HOME": str(folder / "home"),
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
            data = folder / "data"
            _write_random(data / "big" / "big.bin", big_size)
            for index in range(small_count):
                _write_random(data / "many" / f"f{index:03d}.bin", 4 * MiB)
            cases = []
            for name, size in (("big", big_size), ("many", small_count * 4 * MiB)):
                experiment = http.post(
                    "/api/experiments", json={"sample": sample["id"], "name": name}
                ).json()
                command = [lamefair, "upload", str(data / name), "--experiment", experiment["id"]]
                out = subprocess.run(command, env=env, capture_output=True, check=True).stdout
                measurement_id = out.decode().split("measurement ", 1)[1].split(":", 1)[0]
                files = http.get(f"/api/measurements/{measurement_id}").json()["files"]
                assert all(f["state"] == "stored" for f in files), files
                key = files[0]["key"]
                if name == "big":
                    what, source = files[0]["id"], f"s3://{bucket}/{key}"
                    label = f"one {big_size // MiB} MiB file"
                else:
                    prefix = key.rsplit("/", 1)[0]
                    what, source = f"{bucket}/{prefix}", f"s3://{bucket}/{prefix}"
                    label = f"{small_count} files of 4 MiB"
                cases.append((label, size, what, source, name == "many"))
            out_dir = folder / "out"
            for label, size, what, source, recursive in cases:
                shutil.rmtree(out_dir, ignore_errors=True)
                ours = _run([lamefair, "download", what, "-o", str(out_dir)], env)
                assert _size_of(out_dir) >= size, "lamefair wrote less than was asked"
                ours_rate = _report(label, "lamefair (SHA-256 verified)", size, ours)
                theirs: dict[str, tuple[float, Measured]] = {}
                if aws:
                    shutil.rmtree(out_dir, ignore_errors=True)
                    target = str(out_dir) if recursive else str(out_dir / "big.bin")
                    command = [aws, "--endpoint-url", endpoint, "s3", "cp", source, target]
                    command += ["--only-show-errors"] + (["--recursive"] if recursive else [])
                    aws_run = _run(command, env)
                    theirs["aws"] = (_report(label, "aws s3 cp", size, aws_run), aws_run)
                else:
                    print("   aws: not installed (make bench installs it)")
                if rclone:
                    shutil.rmtree(out_dir, ignore_errors=True)
                    remote = "bench:" + source.removeprefix("s3://")
                    command = (
                        [rclone, "copy", remote, str(out_dir)]
                        if recursive
                        else [rclone, "copyto", remote, str(out_dir / "big.bin")]
                    )
                    rclone_run = _run(command, env)
                    theirs["rclone"] = (_report(label, "rclone copy", size, rclone_run), rclone_run)
                else:
                    print("   rclone: not installed (apt-get install rclone)")
                shutil.rmtree(out_dir, ignore_errors=True)
                if "aws" in theirs:
                    rate, aws_run = theirs["aws"]
                    ratio(f"{label}: lamefair / aws-cli, MiB/s (target >= 1)", ours_rate, rate)
                    ratio(f"{label}: lamefair / aws-cli, CPU-s/GiB", ours.cpu, aws_run.cpu)
                    ratio(f"{label}: lamefair / aws-cli, peak RSS", ours.peak, aws_run.peak)
        finally:
            http.close()
            process.terminate()
            process.wait(30)
