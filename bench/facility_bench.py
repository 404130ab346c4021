"""Catalog capacity on the facility stack: requests/s with one and with two catalog processes.

The stack of tests/facility/stack.py (SeaweedFS cluster, PostgreSQL, catalogs, HAProxy); a second
HAProxy with only the first catalog gives the one-process figure on the same database and storage.
Eight client threads send each kind of request as fast as answers come: upload plans
(`POST /api/files/<id>/upload`), completes (`POST /api/files/<id>/complete`: an S3 HEAD and a
database write; the 1 KiB objects are PUT beforehand, untimed), part URLs
(`POST /api/files/<id>/parts`) and listing (`GET /api/measurements?experiment=`, a measurement of
all the files, and `GET /api/buckets/<b>/objects`). On a 2-core machine the clients, both
catalogs, PostgreSQL and SeaweedFS share the cores, so a second process can add little here.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.report import figure
from tests.facility.stack import start_haproxy, start_stack
from tests.support.catalog import Api

CLIENTS = 8
MiB = 1024 * 1024


def _rate(url: str, token: str, calls: list[tuple[str, str, object]]) -> float:
    """Requests per second for `calls` ((method, path, json)) spread over CLIENTS threads."""
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.Client(base_url=url, headers=headers, timeout=60) for _ in range(CLIENTS)]

    def send(index: int) -> None:
        http = clients[index % CLIENTS]
        method, path, body = calls[index]
        response = http.request(method, path, json=body)
        assert response.status_code == 200, (path, response.status_code, response.text)

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(send, range(len(calls))))
    elapsed = time.perf_counter() - started
    for http in clients:
        http.close()
    return len(calls) / elapsed


def _measurement(api: Api, experiment: str, count: int) -> tuple[dict, dict[str, bytes]]:
    contents = {f"f{i:05d}.bin": os.urandom(1024) for i in range(count)}
    files = [
        {"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in contents.items()
    ]
    files.append({"path": "big.bin", "size": 100 * MiB, "sha256": "0" * 64})
    body = {"id": str(uuid.uuid4()), "experiment": experiment, "files": files}
    return api.ok(api.post("/api/measurements", body), (200, 201)), contents


def _put_all(plans: dict[str, dict], contents: dict[str, bytes]) -> None:
    def put(name: str) -> None:
        plan = plans[name]
        response = httpx.put(plan["url"], content=contents[name], headers=plan["headers"])
        assert response.status_code == 200, response.text

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(put, contents))


def _workloads(api: Api, url: str, experiment: str, bucket: str, count: int) -> dict[str, float]:
    measurement, contents = _measurement(api, experiment, count)
    ids = {f["path"]: f["id"] for f in measurement["files"]}
    token = api.token
    small = list(contents)
    rates = {}
    plan_calls = [("POST", f"/api/files/{ids[n]}/upload", None) for n in small]
    rates["upload plans"] = _rate(url, token, plan_calls)
    # The last plan of each file is the one its PUT uses (a plan is a fresh presigned URL).
    plans = {n: api.ok(api.post(f"/api/files/{ids[n]}/upload"), 200) for n in small}
    _put_all(plans, contents)
    complete_calls = [("POST", f"/api/files/{ids[n]}/complete", {"parts": []}) for n in small]
    rates["completes (S3 HEAD + write)"] = _rate(url, token, complete_calls)
    api.ok(api.post(f"/api/files/{ids['big.bin']}/upload"), 200)
    part = {"parts": [{"number": 1, "sha256": "1" * 64}]}
    rates["part URLs"] = _rate(
        url, token, [("POST", f"/api/files/{ids['big.bin']}/parts", part)] * count
    )
    listing = f"/api/measurements?experiment={experiment}"
    rates[f"listing a measurement of {count + 1} files"] = _rate(
        url, token, [("GET", listing, None)] * (count // 4)
    )
    rates["listing bucket objects"] = _rate(
        url, token, [("GET", f"/api/buckets/{bucket}/objects", None)] * count
    )
    return rates


def run(quick: bool = False) -> None:
    count = 60 if quick else 400
    folder = Path(tempfile.mkdtemp(prefix="lamefair-facility-bench-"))
    stack = start_stack(folder)
    (folder / "one").mkdir()
    single = start_haproxy(stack.catalogs[:1], folder / "one")
    try:
        api = Api(stack.url, stack.admin_token)
        hierarchy = api.make_hierarchy()
        bucket = hierarchy["proposal"]["raw_bucket"]
        figures = {}
        for label, url in (("1 catalog", single.url), ("2 catalogs", stack.url)):
            experiment = api.make_experiment(hierarchy["sample"], name=f"bench {label}")["id"]
            figures[label] = _workloads(Api(url, stack.admin_token), url, experiment, bucket, count)
        for name in figures["1 catalog"]:
            one, two = figures["1 catalog"][name], figures["2 catalogs"][name]
            figure(f"{name}, 1 / 2 catalog processes", one, "req/s", f"{two:,.0f} req/s with two")
    finally:
        single.stop()
        stack.stop()
