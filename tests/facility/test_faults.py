"""Losing a node of the facility stack during a real upload, while people browse.

Each test uploads the same ~200 MiB (nine files, two of them multipart) with `lamefair upload`
through HAProxy, injects one fault once the first file is stored, and checks what a facility
relies on: the CLI exits 0 (or `lamefair queue --resume` finishes, as the README says for exit 3),
every file is `stored` exactly once with its S3 object's SHA-256 equal to the source, the
browsing client got no 500 (503 only where the README promises it: storage or database down),
and its change-feed poller skipped no committed revision and saw none twice.

The machine's PostgreSQL serves everybody here and is never restarted: the database "goes away"
by cutting the TCP proxy between the catalogs and PostgreSQL (every connection closed, new ones
refused), then coming back.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.facility.observers import Browser, Upload, all_revisions, feed_problems, resume_queue
from tests.facility.stack import Stack
from tests.support.catalog import Api

pytestmark = pytest.mark.facility

OUTAGE_SECONDS = 5.0  # how long a dependency stays away before it is brought back


@dataclass
class Fault:
    name: str
    inject: Callable[[Stack, str], None]  # (stack, the upload's bucket)
    restore: Callable[[Stack, str], None]
    statuses_allowed: frozenset  # what the browsing client may see besides 200
    restore_after_checks: bool = False  # keep it broken while the objects are read back


def _kill_catalog(stack: Stack, bucket: str) -> None:
    stack.catalogs[0].process.kill()
    stack.catalogs[0].process.wait(10)


def _restart_catalog(stack: Stack, bucket: str) -> None:
    stack.catalogs[0].restart()
    _wait_backends_up(stack)


def _kill_volume(stack: Stack, bucket: str) -> None:
    """kill -9 a volume server holding a copy of the bucket's volumes (a SeaweedFS collection:
    `<bucket>_<id>.dat`), so that what is read back while it is down comes from the other copy."""
    holders = [v for v in stack.seaweed.volumes if list(v.data_dir.glob(f"{bucket}_*.dat"))]
    assert holders, "no volume server holds the bucket yet"
    holders[0].kill()


def _restart_volume(stack: Stack, bucket: str) -> None:
    for volume in stack.seaweed.volumes:
        if volume.process is not None and volume.process.poll() is not None:
            volume.launch()
            volume.wait_ready()


def _kill_gateway(stack: Stack, bucket: str) -> None:
    stack.seaweed.s3.kill()


def _restart_gateway(stack: Stack, bucket: str) -> None:
    stack.seaweed.s3.launch()
    stack.seaweed.s3.wait_ready()


def _wait_backends_up(stack: Stack, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [v["status"] for k, v in stack.haproxy.stats().items() if "/catalog" in k]
        if states and all(s.startswith("UP") for s in states):
            return
        time.sleep(0.5)
    raise AssertionError(f"HAProxy does not see every catalog up: {stack.haproxy.stats()}")


# 503 is what the README promises when storage or the database is down (the catalog's own JSON
# answer: one from HAProxy, no catalog left, counts as "503 from HAProxy" and fails); nothing
# else but 200 may reach the browsing client.
FAULTS = [
    Fault("catalog-kill-9", _kill_catalog, _restart_catalog, frozenset()),
    Fault(
        "volume-server-kill-9",
        _kill_volume,
        _restart_volume,
        frozenset(),
        restore_after_checks=True,
    ),
    Fault(
        "database-cut",
        lambda s, _: s.database_proxy.cut(),
        lambda s, _: s.database_proxy.restore(),
        frozenset({503}),
    ),
    Fault("s3-gateway-kill-9", _kill_gateway, _restart_gateway, frozenset({503})),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_an_upload_survives_losing_a_node(
    fault: Fault, facility: Stack, source_files: dict[Path, str], tmp_path, report
) -> None:
    api = Api(facility.url, facility.admin_token)
    hierarchy = api.make_hierarchy()
    experiment = hierarchy["experiment"]["id"]
    bucket = hierarchy["proposal"]["raw_bucket"]
    folder = next(iter(source_files)).parent
    stats_before = _haproxy_counters(facility)
    first_rev = max(all_revisions(facility.url, facility.admin_token), default=0)
    browser = Browser(facility.url, facility.admin_token, experiment, bucket, "")
    browser.polled_up_to = first_rev
    browser.start()
    started = time.monotonic()
    upload = Upload.start(facility.url, facility.admin_token, tmp_path / "home", experiment, folder)
    try:
        assert upload.first_stored.wait(300), upload.output()
        assert upload.process.poll() is None, (
            "the upload ended before the fault: " + upload.output()
        )
        stored_before_fault = upload.stored_count()
        fault.inject(facility, bucket)
        if not fault.restore_after_checks:
            time.sleep(OUTAGE_SECONDS)
            fault.restore(facility, bucket)
        code = upload.wait()
        resumed = None
        if code == 3:  # README: the catalog or storage unreachable; the queue keeps the work
            resumed = resume_queue(facility.url, facility.admin_token, tmp_path / "home")
            code = resumed.returncode
        upload_seconds = time.monotonic() - started
        assert code == 0, upload.output() + (resumed.stdout + resumed.stderr if resumed else "")
        assert stored_before_fault < len(source_files), "the fault came after the last file"

        _check_stored_once(facility, api, experiment, bucket, source_files)
    finally:
        if upload.process.poll() is None:
            upload.process.kill()
        browser.stop()
        if fault.restore_after_checks:
            fault.restore(facility, bucket)
    stats_after = _haproxy_counters(facility)

    unexpected = {s: n for s, n in browser.statuses.items() if s != 200}
    assert set(unexpected) <= fault.statuses_allowed, browser.statuses
    committed = all_revisions(facility.url, facility.admin_token)
    problems = feed_problems(browser.revs, committed, first_rev)
    assert problems == {"twice": [], "skipped": []}, (first_rev, browser.revs, committed)
    assert browser.revs, "the poller saw none of the upload's changes"

    retried = {k: stats_after[k] - stats_before[k] for k in stats_after}
    browser_5xx = sum(n for s, n in browser.statuses.items() if str(s)[0] == "5")
    report(
        f"{fault.name}: upload of {len(source_files)} files, "
        f"{sum(p.stat().st_size for p in source_files) / 2**20:.0f} MiB, {upload_seconds:.1f} s"
        f"{' (finished by queue --resume)' if resumed else ''}, exit 0; browsing client "
        f"{browser.requests} requests {dict(sorted(browser.statuses.items(), key=str))}, "
        f"non-200 by route {dict(browser.refused)}, "
        f"unavailable {browser.unavailable_seconds:.1f} s (longest {browser.longest_outage:.1f} s);"
        f" HAProxy retries {retried['retries']}, redispatches {retried['redispatches']}, "
        f"5xx to the uploader {retried['5xx'] - browser_5xx} (each retried by it); "
        f"change feed {len(browser.revs)} revisions, none skipped"
    )


def _check_stored_once(stack: Stack, api: Api, experiment: str, bucket: str, sources) -> None:
    measurements = api.ok(api.get("/api/measurements", experiment=experiment), 200)
    assert len(measurements) == 1, measurements
    files = measurements[0]["files"]
    by_name = {Path(f["path"]).name: f for f in files}
    assert len(files) == len(by_name) == len(sources), [f["path"] for f in files]
    for path, sha in sources.items():
        record = by_name[path.name]
        assert (record["state"], record["sha256"]) == ("stored", sha), record
    s3 = stack.s3_client()
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
        if not item["Key"].endswith("README.txt")
    ]
    assert sorted(keys) == sorted(f["key"] for f in files)  # each object once, nothing else
    for record in files:
        digest = hashlib.sha256()
        body = s3.get_object(Bucket=bucket, Key=record["key"])["Body"]
        for chunk in body.iter_chunks(1 << 20):
            digest.update(chunk)
        assert digest.hexdigest() == record["sha256"], record["path"]


def _haproxy_counters(stack: Stack) -> dict[str, int]:
    try:
        stats = stack.haproxy.stats()
    except httpx.HTTPError:
        return {"retries": 0, "redispatches": 0, "5xx": 0}
    backend, frontend = stats["catalogs/BACKEND"], stats["catalog/FRONTEND"]
    return {
        "retries": int(backend["wretr"] or 0),
        "redispatches": int(backend["wredis"] or 0),
        "5xx": int(frontend["hrsp_5xx"] or 0),
    }
