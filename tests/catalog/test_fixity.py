"""Fixity: `lamefair-catalog fixity` re-reads what is stored (real SeaweedFS, real PostgreSQL) and
finds bytes changed or deleted behind the catalog's back; processes share a pass; a check on
demand; `/metrics` and the request id that ties a desktop's error to the server's log line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from lamefair_desktop.catalog.client import CatalogClient, CatalogError
from tests.support import components
from tests.support.catalog import ADMIN, MEMBER, OPERATOR, Api, start_catalog
from tests.support.catalog import sha256_hex as sha

KiB = 1024


@pytest.fixture(scope="module")
def fixity_catalog(seaweed, oidc_provider, tmp_path_factory):
    """A catalog on a database of its own: a pass covers exactly what these tests stored."""
    database = components.create_postgres_database()
    server = start_catalog(
        database.url, seaweed, oidc_provider.issuer, tmp_path_factory.mktemp("fixity-logs")
    )
    yield server
    server.stop()
    components.drop_postgres_database(database)


@pytest.fixture
def op(fixity_catalog, tokens) -> Api:
    return Api(fixity_catalog.url, tokens[OPERATOR[0]])


@pytest.fixture
def pi(fixity_catalog, tokens) -> Api:
    return Api(fixity_catalog.url, tokens[ADMIN[0]])


@pytest.fixture
def reader(fixity_catalog, tokens) -> Api:
    return Api(fixity_catalog.url, tokens[MEMBER[0]])


def _store(pi: Api, op: Api, files: dict[str, bytes]) -> tuple[dict, dict[str, dict]]:
    """A new proposal (readable by MEMBER's group) with these raw files stored."""
    h = pi.make_hierarchy()
    body = {
        "experiment": h["experiment"]["id"],
        "instrument_pair": "generic",
        "operator": "op-bob",
        "files": [{"path": p, "size": len(d), "sha256": sha(d)} for p, d in files.items()],
    }
    measurement = op.ok(op.post("/api/measurements", body), 201)
    stored = {}
    for row in measurement["files"]:
        plan = op.ok(op.post(f"/api/files/{row['id']}/upload"))
        data = files[row["path"]]
        httpx.put(plan["url"], content=data, headers=plan["headers"]).raise_for_status()
        stored[row["path"]] = op.ok(op.post(f"/api/files/{row['id']}/complete", {"parts": []}))
    return h, stored


def _fixity(server, *args: str) -> subprocess.Popen:
    """`lamefair-catalog fixity` with the catalog's own configuration (database, S3)."""
    exe = str(Path(sys.executable).parent / "lamefair-catalog")
    return subprocess.Popen(
        [exe, "fixity", *args],
        env=server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _checks(server, pass_id: int | None = None) -> list:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as connection:
            query = "SELECT object_id, pass_id, result, checked_by FROM fixity_checks"
            if pass_id is not None:
                return connection.execute(text(query + " WHERE pass_id = :p"), {"p": pass_id}).all()
            return connection.execute(text(query)).all()
    finally:
        engine.dispose()


def test_two_fixity_processes_share_one_pass_and_never_check_an_object_twice(
    fixity_catalog, pi, op
):
    files = {f"share/f{i}.dat": os.urandom(128 * KiB) for i in range(6)}
    _, stored = _store(pi, op, files)
    # A second per object, so the two processes overlap for most of the pass.
    first = _fixity(fixity_catalog, "--rate", "128KiB/s")
    second = _fixity(fixity_catalog, "--rate", "128KiB/s")
    outputs = [p.communicate(timeout=120)[0] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs

    checks = _checks(fixity_catalog)
    passes = {row.pass_id for row in checks}
    assert len(passes) == 1, outputs  # the second process joined the first one's pass
    per_object = Counter(row.object_id for row in checks)
    assert set(per_object) == {uuid.UUID(f["id"]) for f in stored.values()}
    assert set(per_object.values()) == {1}  # none checked twice
    assert len({row.checked_by for row in checks}) == 2, outputs  # both did part of it
    assert {row.result for row in checks} == {"ok"}


def test_fixity_names_damaged_and_missing_objects_and_passes_after_repair(
    fixity_catalog, pi, op, reader, s3_client
):
    files = {"scan/a.tif": os.urandom(40 * KiB), "scan/b.tif": os.urandom(30 * KiB)}
    files["scan/c.tif"] = os.urandom(20 * KiB)
    h, stored = _store(pi, op, files)
    bucket = h["proposal"]["raw_bucket"]
    damaged, deleted, intact = (stored[p] for p in ("scan/a.tif", "scan/b.tif", "scan/c.tif"))
    # Behind the catalog's back, with SeaweedFS's admin credentials.
    changed = bytearray(files["scan/a.tif"])
    changed[5000] ^= 0x01
    s3_client.put_object(Bucket=bucket, Key=damaged["key"], Body=bytes(changed))
    s3_client.delete_object(Bucket=bucket, Key=deleted["key"])

    run = _fixity(fixity_catalog)
    output = run.communicate(timeout=120)[0]
    assert run.returncode == 1, output
    proposal = f"{h['project']['slug']}/{h['proposal']['number']}"
    assert f"MISMATCH {proposal} raw scan/a.tif" in output
    assert f"MISSING {proposal} raw scan/b.tif" in output
    assert "scan/c.tif" not in output

    # What people see: the check on demand, the admins' list, the proposal's summary, listings.
    verified = op.ok(op.post(f"/api/files/{damaged['id']}/verify"))
    assert verified["result"] == "mismatch"
    assert verified["actual_sha256"] == sha(bytes(changed))
    assert reader.post(f"/api/files/{damaged['id']}/verify").status_code == 403
    problems = {(p["path"], p["result"]) for p in pi.ok(pi.get("/api/fixity/problems"))}
    assert {("scan/a.tif", "mismatch"), ("scan/b.tif", "missing")} <= problems
    assert reader.get("/api/fixity/problems").status_code == 403
    summary = reader.ok(reader.get(f"/api/proposals/{h['proposal']['id']}/fixity"))
    assert sorted(p["path"] for p in summary["problems"]) == ["scan/a.tif", "scan/b.tif"]
    listing = reader.ok(reader.get(f"/api/buckets/{bucket}/objects", prefix=intact["key"][:-5]))
    by_name = {o["name"]: o for o in listing["objects"]}
    assert by_name["a.tif"]["fixity"] == "mismatch"
    assert by_name["c.tif"]["fixity"] == "ok"
    assert by_name["c.tif"]["verified_at"]

    # Repaired from a copy: the next pass finds every object as recorded.
    s3_client.put_object(Bucket=bucket, Key=damaged["key"], Body=files["scan/a.tif"])
    s3_client.put_object(Bucket=bucket, Key=deleted["key"], Body=files["scan/b.tif"])
    again = _fixity(fixity_catalog)
    output = again.communicate(timeout=120)[0]
    assert again.returncode == 0, output
    latest = max(row.pass_id for row in _checks(fixity_catalog) if row.pass_id is not None)
    results = {row.object_id: row.result for row in _checks(fixity_catalog, latest)}
    assert results[uuid.UUID(damaged["id"])] == results[uuid.UUID(deleted["id"])] == "ok"
    assert pi.ok(pi.get("/api/fixity/problems")) == []


def test_metrics_count_requests_and_errors_carry_the_logged_request_id(fixity_catalog, tokens):
    client = CatalogClient(fixity_catalog.url, tokens[MEMBER[0]], attempts=1)
    client.me()
    missing = uuid.uuid4()
    with pytest.raises(CatalogError) as caught:
        client.get_file(str(missing))
    client.close()
    message = str(caught.value)
    assert message.startswith(f"File {missing} does not exist. (request id ")
    request_id = caught.value.request_id
    assert request_id
    assert message.endswith(f"(request id {request_id})")
    # The server's own log line for that request: found by the id the desktop showed.
    lines = [
        line for line in fixity_catalog.log().splitlines() if f"request_id={request_id}" in line
    ]
    assert len(lines) == 1, lines
    assert "route=/api/files/{file_id}" in lines[0]
    assert "status=404" in lines[0]
    assert "user=carol" in lines[0]

    # A client's own id is kept; a malformed one is replaced.
    echoed = httpx.get(f"{fixity_catalog.url}/api/health", headers={"X-Request-ID": "lab-42"})
    assert echoed.headers["x-request-id"] == "lab-42"
    odd = httpx.get(f"{fixity_catalog.url}/api/health", headers={"X-Request-ID": "a b\tc"})
    assert odd.headers["x-request-id"] != "a b\tc"

    metrics = httpx.get(f"{fixity_catalog.url}/metrics")
    assert metrics.status_code == 200
    body = metrics.text
    assert (
        'lamefair_http_requests_total{method="GET",route="/api/files/{file_id}",status="404"}'
        in body
    )
    assert 'lamefair_http_requests_total{method="GET",route="/api/me",status="200"}' in body
    assert "lamefair_http_request_duration_seconds_bucket" in body
    assert "lamefair_uploads_in_progress" in body
    assert "lamefair_fixity_objects" in body
    assert "lamefair_fixity_pass_checked" in body


def _stop_after_one_more_check(server, run: subprocess.Popen) -> str:
    """Wait until `run` has recorded a check, then SIGTERM it; its output."""
    count = len(_checks(server))
    deadline = time.monotonic() + 60
    while len(_checks(server)) == count:
        assert run.poll() is None, run.communicate()[0]
        assert time.monotonic() < deadline, "fixity checked nothing in 60 s"
        time.sleep(0.2)
    run.send_signal(signal.SIGTERM)
    output = run.communicate(timeout=30)[0]
    assert run.returncode == 0, output
    return output


def test_a_pass_stopped_by_sigterm_is_resumed_by_the_next_runs(fixity_catalog, pi, op):
    _store(pi, op, {f"slow/f{i}.dat": os.urandom(64 * KiB) for i in range(3)})
    before = {row.pass_id for row in _checks(fixity_catalog)}
    # Slow enough (a second per new object) to be stopped in the middle of the pass.
    _stop_after_one_more_check(fixity_catalog, _fixity(fixity_catalog, "--rate", "64KiB/s"))
    (started,) = {r.pass_id for r in _checks(fixity_catalog)} - before
    # A periodic run joins the unfinished pass, spread over its hour (at the 64 KiB/s floor).
    output = _stop_after_one_more_check(fixity_catalog, _fixity(fixity_catalog, "--every", "1h"))
    assert f"Fixity pass {started}:" in output
    assert "the pass is complete" not in output

    # A last run finishes it: every object checked once in the pass, by three processes.
    rest = _fixity(fixity_catalog)
    output = rest.communicate(timeout=120)[0]
    assert rest.returncode == 0, output
    assert f"Fixity pass {started}:" in output
    assert "the pass is complete" in output
    checks = _checks(fixity_catalog, started)
    assert set(Counter(r.object_id for r in checks).values()) == {1}
    assert len({r.checked_by for r in checks}) == 3
    assert {r.pass_id for r in _checks(fixity_catalog)} - before == {started}


def test_storage_not_answering_stops_the_pass_without_recording_damage(tmp_path):
    """SQLite (the embedded catalog's database) and an S3 endpoint nobody listens on."""
    from lamefair_catalog.database.engine import make_engine, make_session_factory, migrate
    from lamefair_catalog.database.models import (
        Experiment,
        File,
        Measurement,
        Project,
        Proposal,
        Sample,
    )
    from lamefair_catalog.embedded.ports import free_port

    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    engine = make_engine(url)
    migrate(engine)
    ids = [uuid.uuid4() for _ in range(5)]
    with make_session_factory(engine)() as session:
        session.add(Project(id=ids[0], name="P", slug="p"))
        session.flush()  # parents first: these models have no relationships to order them
        session.add(
            Proposal(
                id=ids[1],
                project_id=ids[0],
                number="7",
                number_slug="7",
                raw_bucket="lame-raw-p-7",
                mirror_bucket="lame-ofed-p-7",
            )
        )
        session.flush()
        session.add(Sample(id=ids[2], proposal_id=ids[1], name="s", slug="s"))
        session.flush()
        session.add(Experiment(id=ids[3], sample_id=ids[2], name="e", slug="e"))
        session.flush()
        session.add(
            Measurement(id=ids[4], experiment_id=ids[3], slug="m", instrument_pair="generic")
        )
        for name in ("a.tif", "b.tif"):
            session.add(
                File(
                    id=uuid.uuid4(),
                    measurement_id=ids[4],
                    path=name,
                    key=f"k/{name}",
                    size=3,
                    sha256=sha(b"abc"),
                    state="stored",
                )
            )
        session.commit()
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    env.update(
        LAMEFAIR_DATABASE_URL=url,
        LAMEFAIR_S3_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        LAMEFAIR_S3_CONNECT_TIMEOUT="1",
    )
    exe = str(Path(sys.executable).parent / "lamefair-catalog")
    run = subprocess.run(
        [exe, "fixity"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 4, run.stdout + run.stderr
    assert "NOT CHECKED p/7 raw" in run.stdout
    assert "Object storage is not answering" in run.stdout
    assert "the pass resumes next run" in run.stdout
    assert "MISSING" not in run.stdout
    assert "MISMATCH" not in run.stdout
    server = type("Server", (), {"database_url": url})
    assert _checks(server) == []  # nothing recorded: the next run checks both
