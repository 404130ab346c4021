"""Catalog server: listing 10k experiments and 100k objects, presigning 1,000 part URLs.

Runs the real embedded server (SQLite + SeaweedFS on loopback) and talks HTTP to it, as the desktop
does. Experiments are inserted straight into the database (we measure listing, not creating);
objects are written to SeaweedFS with 32 parallel PUTs before listing them page by page.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import boto3
import httpx
from botocore.config import Config
from sqlalchemy import insert

from bench.report import figure
from lamefair_catalog.database.engine import make_engine
from lamefair_catalog.database.models import Experiment
from lamefair_catalog.embedded.ports import free_port


def _start_embedded(data_dir: Path) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "lamefair-catalog"),
            "serve",
            "--embedded",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return process, url, (data_dir / "token").read_text().strip()


def make_sample(http: httpx.Client, project_name: str) -> tuple[dict, dict]:
    """A project, a proposal and a sample to work in; returns (proposal, sample)."""
    project = http.post("/api/projects", json={"name": project_name}).json()
    proposal = http.post("/api/proposals", json={"project": project["id"], "number": "B-1"}).json()
    sample = http.post("/api/samples", json={"proposal": proposal["id"], "name": "bench"}).json()
    return proposal, sample


def _timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run(quick: bool = False) -> None:
    n_experiments = 1_000 if quick else 10_000
    n_objects = 5_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        process, url, token = _start_embedded(data_dir)
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300)
        try:
            proposal, sample = make_sample(http, "Bench")

            engine = make_engine(f"sqlite:///{data_dir / 'catalog.sqlite'}")
            now = datetime.now(UTC)
            rows = [
                {
                    "id": uuid.uuid4(),
                    "sample_id": uuid.UUID(sample["id"]),
                    "name": f"experiment {i:05d}",
                    "slug": f"experiment-{i:05d}",
                    "description": "bench",
                    "created_at": now,
                    "created_by": "bench",
                }
                for i in range(n_experiments)
            ]
            with engine.begin() as connection:
                connection.execute(insert(Experiment), rows)
            engine.dispose()

            seconds, response = _timed(
                lambda: http.get("/api/experiments", params={"sample": sample["id"]})
            )
            assert len(response.json()) == n_experiments
            figure(
                f"GET /api/experiments, {n_experiments:,} rows (median of 5)", seconds * 1e3, "ms"
            )
            figure("  per experiment", seconds / n_experiments * 1e6, "us")

            credentials = json.loads((data_dir / "s3-credentials.json").read_text())
            s3 = boto3.client(
                "s3",
                endpoint_url=_s3_endpoint(data_dir),
                aws_access_key_id=credentials["access_key"],
                aws_secret_access_key=credentials["secret_key"],
                region_name="us-east-1",
                config=Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "path"},
                    max_pool_connections=32,
                ),
            )
            bucket = proposal["raw_bucket"]
            started = time.perf_counter()
            with ThreadPoolExecutor(32) as pool:
                list(
                    pool.map(
                        lambda i: s3.put_object(Bucket=bucket, Key=f"many/obj-{i:06d}", Body=b"x"),
                        range(n_objects),
                    )
                )
            figure(
                f"writing {n_objects:,} small objects to SeaweedFS (setup)",
                n_objects / (time.perf_counter() - started),
                "obj/s",
            )

            def first_page():
                return http.get(f"/api/buckets/{bucket}/objects", params={"prefix": "many/"})

            seconds, _ = _timed(first_page)
            figure(
                "first page of 1,000 objects (what the browser shows first)", seconds * 1e3, "ms"
            )

            def all_pages() -> int:
                count, cursor = 0, None
                while True:
                    params = {"prefix": "many/", "limit": 1000}
                    if cursor:
                        params["cursor"] = cursor
                    page = http.get(f"/api/buckets/{bucket}/objects", params=params).json()
                    count += len(page["objects"])
                    cursor = page["next_cursor"]
                    if not cursor:
                        return count

            seconds, count = _timed(all_pages, repeat=1)
            assert count == n_objects, count
            figure(f"listing all {n_objects:,} objects, pages of 1,000", seconds, "s")
            figure("  per page", seconds / (n_objects / 1000) * 1e3, "ms")

            size = 1000 * 16 * 1024 * 1024 + 1  # 16 MiB parts from 1 GiB: 1,001 parts
            measurement = http.post(
                "/api/measurements",
                json={
                    "experiment": rows[0]["id"].hex,
                    "files": [{"path": "huge.bin", "size": size, "sha256": "0" * 64}],
                },
            ).json()
            file_id = measurement["files"][0]["id"]
            http.post(f"/api/files/{file_id}/upload").raise_for_status()
            body = {"parts": [{"number": n, "sha256": "ab" * 32} for n in range(1, 1001)]}
            seconds, response = _timed(lambda: http.post(f"/api/files/{file_id}/parts", json=body))
            assert len(response.json()["parts"]) == 1000
            figure("presigning 1,000 part URLs in one request", seconds * 1e3, "ms")
            figure("  per URL", seconds / 1000 * 1e6, "us")
        finally:
            http.close()
            process.terminate()
            process.wait(30)


def _s3_endpoint(data_dir: Path) -> str:
    """The embedded SeaweedFS's S3 port, read from its command line (it is not published)."""
    pid = int((data_dir / "seaweed" / "weed.pid").read_text())
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    port = next(a.split(b"=")[1] for a in args if a.startswith(b"-s3.port="))
    return f"http://127.0.0.1:{port.decode()}"
