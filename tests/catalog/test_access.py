"""Who may do what: 401 without valid credentials, 403 per role, membership by user or group."""

from __future__ import annotations

import os

import httpx

from tests.support.catalog import sha256_hex


def test_no_or_bad_token_is_401(anonymous, catalog_server):
    assert anonymous.get("/api/projects").status_code == 401
    assert anonymous.get("/api/me").json()["detail"].startswith("Sign in")
    forged = httpx.get(
        f"{catalog_server.url}/api/me", headers={"Authorization": "Bearer not-a-real-token"}
    )
    assert forged.status_code == 401
    assert forged.headers["www-authenticate"] == "Bearer"
    assert "not-a-real-token" not in forged.text


def test_role_matrix(admin, operator, member, outsider):
    h = admin.make_hierarchy()  # proposal members: ["team-x"]; carol is in team-x
    proposal_id = h["proposal"]["id"]

    # Projects and proposals: admins only.
    assert operator.post("/api/projects", {"name": "op project"}).status_code == 403
    assert member.post("/api/projects", {"name": "member project"}).status_code == 403
    new_proposal = {"project": h["project"]["id"], "number": "X-9"}
    assert operator.post("/api/proposals", new_proposal).status_code == 403
    assert operator.patch(f"/api/proposals/{proposal_id}", {"title": "t"}).status_code == 403
    assert operator.post(f"/api/proposals/{proposal_id}/ensure-buckets").status_code == 403
    assert admin.post(f"/api/proposals/{proposal_id}/ensure-buckets").status_code == 200

    # Samples, experiments, measurements, uploads: operators (and admins) in any proposal.
    sample = operator.make_sample(h["proposal"], name="operator sample")
    experiment = operator.make_experiment(sample, name="operator run")
    data = os.urandom(100)
    body = {
        "experiment": experiment["id"],
        "files": [{"path": "a.bin", "size": len(data), "sha256": sha256_hex(data)}],
    }
    measurement = operator.ok(operator.post("/api/measurements", body), 201)
    file_id = measurement["files"][0]["id"]

    # A member reads and downloads, but may not write.
    assert member.get(f"/api/proposals/{proposal_id}").status_code == 200
    assert member.get("/api/samples", proposal=proposal_id).status_code == 200
    assert member.post("/api/samples", {"proposal": proposal_id, "name": "m"}).status_code == 403
    assert member.post("/api/measurements", body).status_code == 403
    assert member.post(f"/api/files/{file_id}/upload").status_code == 403
    assert member.patch(f"/api/samples/{sample['id']}", {"name": "z"}).status_code == 403

    plan = operator.ok(operator.post(f"/api/files/{file_id}/upload"))
    httpx.put(plan["url"], content=data, headers=plan["headers"]).raise_for_status()
    operator.ok(operator.post(f"/api/files/{file_id}/complete", {"parts": []}))
    download = member.ok(member.get(f"/api/files/{file_id}/download"))
    assert httpx.get(download["url"]).content == data
    assert h["proposal"]["raw_bucket"] in {b["name"] for b in member.ok(member.get("/api/buckets"))}

    # Somebody not listed sees nothing of it.
    assert outsider.get(f"/api/proposals/{proposal_id}").status_code == 403
    assert outsider.get("/api/samples", proposal=proposal_id).status_code == 403
    assert outsider.get(f"/api/files/{file_id}/download").status_code == 403
    assert outsider.get(f"/api/experiments/{experiment['id']}").status_code == 403
    bucket = h["proposal"]["raw_bucket"]
    assert outsider.get(f"/api/buckets/{bucket}/objects").status_code == 403
    assert outsider.post(f"/api/buckets/{bucket}/presign", {"keys": ["a"]}).status_code == 403
    assert bucket not in {b["name"] for b in outsider.ok(outsider.get("/api/buckets"))}
    assert proposal_id not in {p["id"] for p in outsider.ok(outsider.get("/api/proposals"))}
    feed = outsider.ok(outsider.get("/api/changes", since=0, limit=5000))
    assert all(c["entity"] == "project" for c in feed["changes"])

    # Membership by username works as well as by group.
    admin.ok(admin.patch(f"/api/proposals/{proposal_id}", {"members": ["dave"]}))
    assert outsider.get(f"/api/proposals/{proposal_id}").status_code == 200
    assert member.get(f"/api/proposals/{proposal_id}").status_code == 403
