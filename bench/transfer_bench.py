"""Upload throughput and CPU: `lamefair upload` vs `aws s3 cp` and `rclone copy`, black-box.

Each tool is a command in a fresh process, as a user runs it, against the same embedded
SeaweedFS on loopback, one after the other in one run, interleaved over `ROUNDS` rounds: one
1 GiB file and 200 files of 4 MiB. lamefair's command includes what the user's does: start-up,
registering the measurement, SHA-256 of every byte (S3 checks each part's), the catalog's check
of each stored object; its data folder is an operator's, made by an untimed first command. For
each run: MiB/s, the client's CPU seconds per GiB (user + system,
from wait4), its peak RSS (VmHWM, polled), and the server side's CPU per GiB (SeaweedFS plus the
catalog, from /proc): on two cores every CPU-second the client spends is taken from the server.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.catalog_bench import _s3_endpoint, _start_embedded, make_sample
from bench.measure import measured
from bench.report import figure, ratio

MiB = 1024 * 1024
GiB = 1024 * MiB
ROUNDS = 3
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float  # client user + system seconds
    peak: int  # client VmHWM bytes
    server_cpu: float  # SeaweedFS + catalog seconds during the run


def _write_random(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        remaining = size
        while remaining:
            block = min(remaining, 16 * MiB)
            handle.write(os.urandom(block))
            remaining -= block


def _cpu_of(pids: list[int]) -> float:
    """User + system seconds of these processes and their waited-for children."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / TICKS


def _server_pids(catalog: subprocess.Popen) -> list[int]:
    """The catalog and every process under it (SeaweedFS)."""
    found, todo = [], [catalog.pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return found


def _timed(command: list[str], env: dict, server: list[int]) -> Run:
    """One command measured (bench/measure.py), with the server's CPU meanwhile."""
    server_before = _cpu_of(server)
    run = measured(command, env)
    return Run(run.seconds, run.cpu, run.peak, _cpu_of(server) - server_before)


def _report(label: str, tool: str, runs: list[Run], size: int) -> tuple[float, float]:
    rates = [size / r.seconds / MiB for r in runs]
    cpus = [r.cpu / (size / GiB) for r in runs]
    server = [r.server_cpu / (size / GiB) for r in runs]
    rate, cpu = statistics.median(rates), statistics.median(cpus)
    figure(
        f"{label}: {tool}",
        rate,
        "MiB/s",
        f"CPU {cpu:.2f} s/GiB, peak RSS {max(r.peak for r in runs) / MiB:.0f} MiB, "
        f"server {statistics.median(server):.1f} CPU-s/GiB; runs "
        + " / ".join(f"{x:.0f}" for x in rates),
    )
    return rate, cpu


def run(quick: bool = False) -> None:
    big_size = (128 if quick else 1024) * MiB
    small_count = 20 if quick else 200
    rounds = 1 if quick else ROUNDS
    bin_dir = Path(sys.executable).parent
    beside = bin_dir.parent / "tools" / "bin" / "aws"  # from `make bench`
    rclone = shutil.which("rclone")
    aws = str(beside) if beside.is_file() else shutil.which("aws")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        catalog, url, token = _start_embedded(folder / "catalog")
        server = _server_pids(catalog)
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        try:
            proposal, sample = make_sample(http, "Transfer bench")
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
                "LAMEFAIR_SERVER": url,
                "LAMEFAIR_TOKEN": token,
            }
            big = folder / "data" / "big.bin"
            _write_random(big, big_size)
            smalls = folder / "data" / "many"
            for index in range(small_count):
                _write_random(smalls / f"f{index:03d}.bin", 4 * MiB)
            cases = [
                (f"1 x {big_size // MiB} MiB", big, big_size),
                (f"{small_count} x 4 MiB", smalls, small_count * 4 * MiB),
            ]
            # One data folder for every lamefair run, as on an operator's PC; its database is
            # made by an untimed first command (a new folder's schema migration is paid once).
            home = folder / "home"
            tiny = folder / "data" / "tiny.txt"
            tiny.write_text("warm-up\n")
            warm = http.post("/api/experiments", json={"sample": sample["id"], "name": "warm"})
            command = [str(bin_dir / "lamefair"), "upload", str(tiny)]
            _timed(
                [*command, "--experiment", warm.json()["id"]],
                {**env, "LAMEFAIR_HOME": str(home)},
                server,
            )
            for label, source, size in cases:
                runs: dict[str, list[Run]] = {"lamefair upload": [], "aws s3 cp": []}
                if rclone:
                    runs["rclone copy"] = []
                for index in range(rounds):
                    experiment = http.post(
                        "/api/experiments",
                        json={"sample": sample["id"], "name": f"{source.name}-{index}"},
                    ).json()
                    command = [str(bin_dir / "lamefair"), "upload", str(source)]
                    command += ["--experiment", experiment["id"]]
                    runs["lamefair upload"].append(
                        _timed(command, {**env, "LAMEFAIR_HOME": str(home)}, server)
                    )
                    if aws:
                        target = f"s3://{bucket}/aws{index}/{source.name}"
                        command = [aws, "--endpoint-url", endpoint, "s3", "cp", str(source)]
                        command += [target, "--only-show-errors"]
                        if source.is_dir():
                            command.append("--recursive")
                        runs["aws s3 cp"].append(_timed(command, env, server))
                    if rclone:
                        target = f"bench:{bucket}/rclone{index}/{source.name}"
                        verb = "copy" if source.is_dir() else "copyto"
                        runs["rclone copy"].append(
                            _timed([rclone, verb, str(source), target], env, server)
                        )
                results = {
                    tool: _report(label, tool, found, size) for tool, found in runs.items() if found
                }
                if not aws:
                    print("   aws: not installed (make bench installs it)")
                    continue
                ours, theirs = results["lamefair upload"], results["aws s3 cp"]
                ratio(f"{label}: throughput lamefair / aws-cli (target >= 1.1)", ours[0], theirs[0])
                ratio(
                    f"{label}: CPU per GiB lamefair / aws-cli (target <= 0.6)", ours[1], theirs[1]
                )
        finally:
            http.close()
            catalog.terminate()
            catalog.wait(30)
