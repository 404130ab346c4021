"""Projects, proposals, samples, experiments: creates, idempotency, conflicts, READMEs, feed."""

from __future__ import annotations

import uuid

from lamefair_catalog.domain.readmes import parse
from lamefair_catalog.shared import is_valid_bucket_name


def test_health_and_openapi_need_no_login(anonymous):
    health = anonymous.ok(anonymous.get("/api/health"), 200)
    assert health["status"] == "ok"
    assert health["database"] == "ok"
    assert health["storage"] == "ok"
    assert health["auth"]["mode"] == "oidc"
    assert health["auth"]["client_id"] == "lamefair-desktop"
    schema = anonymous.ok(anonymous.get("/api/openapi.json"), 200)
    for route in ("/api/files/{file_id}/upload", "/api/changes", "/api/buckets/{bucket}/objects"):
        assert route in schema["paths"]


def test_me_reports_roles_from_groups(admin, operator, member):
    assert admin.ok(admin.get("/api/me"))["roles"] == ["admin", "operator", "reader"]
    assert operator.ok(operator.get("/api/me"))["roles"] == ["operator", "reader"]
    assert member.ok(member.get("/api/me"))["roles"] == ["reader"]


def test_full_hierarchy_with_slugs_buckets_and_readmes(admin, s3_client):
    project = admin.make_project(f"Électron Ptychography {uuid.uuid4().hex[:4]}")
    assert project["slug"].startswith("electron-ptychography-")
    proposal = admin.make_proposal(
        project,
        number="2026/Ärger-17",
        pi_name="Dr. Ada Lovelace",
        date="2026-11-01",
        title="Oxide interfaces",
        description="Line one\nLine two",
        members=["team-x", "carol"],
    )
    assert proposal["number_slug"] == "2026-arger-17"
    for kind in ("raw_bucket", "mirror_bucket"):
        assert is_valid_bucket_name(proposal[kind])
    assert proposal["raw_bucket"].startswith("lame-raw-")
    assert proposal["mirror_bucket"].startswith("lame-ofed-")
    buckets = {b["Name"] for b in s3_client.list_buckets()["Buckets"]}
    assert {proposal["raw_bucket"], proposal["mirror_bucket"]} <= buckets

    sample = admin.make_sample(proposal, name="LaAlO3/SrTiO3 #2", atom_types=["La", "Al", "O"])
    assert sample["slug"] == "laalo3-srtio3-2"
    experiment = admin.make_experiment(sample, name="HRSTEM 2026-11-20")

    prefix = f"{project['slug']}/PROPOSAL-{proposal['number_slug']}/"
    readme = parse(
        s3_client.get_object(Bucket=proposal["raw_bucket"], Key=prefix + "README.txt")["Body"]
        .read()
        .decode()
    )
    assert readme["kind"] == "proposal"
    assert readme["number"] == "2026/Ärger-17"
    assert readme["pi_name"] == "Dr. Ada Lovelace"
    assert readme["description"] == "Line one\nLine two"
    assert readme["members"] == "team-x, carol"
    assert readme["written_by"] == "pi-alice"

    sample_key = prefix + "SAMPLE-laalo3-srtio3-2/README.txt"
    sample_readme = parse(
        s3_client.get_object(Bucket=proposal["raw_bucket"], Key=sample_key)["Body"].read().decode()
    )
    assert sample_readme["atom_types"] == "La, Al, O"
    assert sample_readme["identifier"] == "S-001"
    assert sample_readme["proposal"] == "2026/Ärger-17"

    experiment_key = prefix + "SAMPLE-laalo3-srtio3-2/EXP-hrstem-2026-11-20/README.txt"
    experiment_readme = parse(
        s3_client.get_object(Bucket=proposal["mirror_bucket"], Key=experiment_key)["Body"]
        .read()
        .decode()
    )
    assert experiment_readme["name"] == "HRSTEM 2026-11-20"
    assert experiment_readme["start_time"].startswith("2026-11-20T09:00:00")
    assert experiment["id"] in experiment_readme["id"]


def test_create_with_client_id_is_idempotent(admin):
    project = admin.make_project()
    proposal = admin.make_proposal(project)
    sample_id = str(uuid.uuid4())
    body = {"id": sample_id, "proposal": proposal["id"], "name": "Idempotent sample"}
    first = admin.post("/api/samples", body)
    assert first.status_code == 201
    again = admin.post("/api/samples", body)
    assert again.status_code == 200
    assert again.json() == first.json()
    changed = admin.post("/api/samples", {**body, "description": "other"})
    assert changed.status_code == 409
    assert changed.json()["existing_id"] == sample_id


def test_duplicate_names_are_friendly_409s_with_existing_id(admin):
    project = admin.make_project()
    duplicate = admin.post("/api/projects", {"name": project["name"]})
    assert duplicate.status_code == 409
    assert duplicate.json()["existing_id"] == project["id"]
    assert "already exists" in duplicate.json()["detail"]

    proposal = admin.make_proposal(project, number="P-1")
    same_number = admin.post("/api/proposals", {"project": project["id"], "number": "P-1"})
    assert same_number.status_code == 409
    assert same_number.json()["existing_id"] == proposal["id"]
    # Another spelling that gives the same path segment would mix data: refused as well.
    same_slug = admin.post("/api/proposals", {"project": project["id"], "number": "p 1"})
    assert same_slug.status_code == 409

    sample = admin.make_sample(proposal, name="Grain A")
    clash = admin.post("/api/samples", {"proposal": proposal["id"], "name": "grain-a"})
    assert clash.status_code == 409
    assert clash.json()["existing_id"] == sample["id"]

    experiment = admin.make_experiment(sample, name="Run 1")
    clash = admin.post("/api/experiments", {"sample": sample["id"], "name": "Run 1"})
    assert clash.status_code == 409
    assert clash.json()["existing_id"] == experiment["id"]


def test_patch_updates_fields_but_keeps_storage_paths(admin, s3_client):
    h = admin.make_hierarchy()
    sample = h["sample"]
    patched = admin.ok(
        admin.patch(
            f"/api/samples/{sample['id']}", {"name": "Renamed", "atom_types": ["Fe", "O", "Ni"]}
        ),
        200,
    )
    assert patched["name"] == "Renamed"
    assert patched["slug"] == sample["slug"]
    assert patched["atom_types"] == ["Fe", "O", "Ni"]
    assert admin.ok(admin.get(f"/api/samples/{sample['id']}"))["name"] == "Renamed"
    key = (
        f"{h['project']['slug']}/PROPOSAL-{h['proposal']['number_slug']}/"
        f"SAMPLE-{sample['slug']}/README.txt"
    )
    text = s3_client.get_object(Bucket=h["proposal"]["raw_bucket"], Key=key)["Body"].read()
    assert parse(text.decode())["name"] == "Renamed"

    proposal = admin.ok(
        admin.patch(f"/api/proposals/{h['proposal']['id']}", {"members": ["x", "y"]}), 200
    )
    assert proposal["members"] == ["x", "y"]
    experiment = admin.ok(
        admin.patch(
            f"/api/experiments/{h['experiment']['id']}", {"end_time": "2026-11-20T17:00:00Z"}
        ),
        200,
    )
    assert experiment["end_time"].startswith("2026-11-20T17:00:00")
    backwards = admin.patch(
        f"/api/experiments/{h['experiment']['id']}", {"end_time": "2020-01-01T00:00:00Z"}
    )
    assert backwards.status_code == 422
    assert backwards.json()["field"] == "end_time"


def test_invalid_input_gets_422_naming_the_field(admin):
    h = admin.make_hierarchy()
    bad_atoms = admin.post(
        "/api/samples", {"proposal": h["proposal"]["id"], "name": "x", "atom_types": ["Xx", "Fe"]}
    )
    assert bad_atoms.status_code == 422
    assert "'Xx'" in bad_atoms.json()["detail"]
    assert bad_atoms.json()["field"] == "atom_types"

    empty_name = admin.post("/api/projects", {"name": "   "})
    assert empty_name.status_code == 422
    assert empty_name.json()["errors"][0]["field"] == "name"

    naive = admin.post(
        "/api/experiments",
        {"sample": h["sample"]["id"], "name": "naive", "start_time": "2026-01-01T10:00:00"},
    )
    assert naive.status_code == 422
    assert "time zone" in naive.json()["detail"]

    missing = admin.get(f"/api/samples/{uuid.uuid4()}")
    assert missing.status_code == 404


def test_change_feed_reports_every_kind_of_write_in_order(admin):
    start = admin.ok(admin.get("/api/changes", since=0, limit=1))["last_rev"]
    cursor = admin.ok(admin.get("/api/changes", since=start, limit=5000))["last_rev"]
    h = admin.make_hierarchy()
    admin.patch(f"/api/samples/{h['sample']['id']}", {"description": "changed"})
    feed = admin.ok(admin.get("/api/changes", since=cursor, limit=5000))
    revs = [c["rev"] for c in feed["changes"]]
    assert revs == sorted(revs)
    assert feed["last_rev"] == revs[-1]
    ours = [(c["entity"], c["op"]) for c in feed["changes"] if c["id"] in {h[k]["id"] for k in h}]
    assert ours == [
        ("project", "create"),
        ("proposal", "create"),
        ("sample", "create"),
        ("experiment", "create"),
        ("sample", "update"),
    ]
    sample_change = next(c for c in feed["changes"] if c["op"] == "update")
    assert sample_change["data"]["description"] == "changed"
    empty = admin.ok(admin.get("/api/changes", since=feed["last_rev"]))
    assert empty["changes"] == [] or all(c["rev"] > feed["last_rev"] for c in empty["changes"])


def test_a_revision_beyond_64_bits_is_a_422_not_a_crash(admin):
    """Found by the fuzzer: SQLite cannot bind integers beyond 64 bits."""
    too_far = admin.get("/api/changes", since=2**63, limit=1)
    assert too_far.status_code == 422
    assert "since" in too_far.json()["detail"]
    assert admin.get("/api/changes", since=2**63 - 1, limit=1).status_code == 200
