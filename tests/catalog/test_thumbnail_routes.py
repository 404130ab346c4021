"""Thumbnails beside NXem files: uploaded with a signed SHA-256, fetched by readers through a 307,
refused to everyone else, and no longer offered once the NXem's bytes change."""

from __future__ import annotations

import os
from pathlib import PurePosixPath

import httpx

from tests.support.catalog import sha256_hex

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(700)


def _register(api, experiment, names: list[str]) -> dict:
    body = {
        "experiment": experiment["id"],
        "instrument_pair": "generic",
        "operator": "op-bob",
        "description": "thumbnails",
        "files": [{"path": n, "size": 3, "sha256": sha256_hex(b"raw")} for n in names],
    }
    return api.ok(api.post("/api/measurements", body), 201)


def _store_derived(api, file_id: str, nxs: bytes) -> dict:
    body = {"size": len(nxs), "sha256": sha256_hex(nxs), "valid": True, "report": "valid"}
    plan = api.ok(api.post(f"/api/files/{file_id}/derived", body))
    assert httpx.put(plan["url"], content=nxs, headers=plan["headers"]).status_code == 200
    return api.ok(api.post(f"/api/derived/{plan['id']}/complete"))


def test_readers_get_the_thumbnail_others_are_refused(admin, operator, member, outsider, anonymous):
    h = admin.make_hierarchy()  # carol (member) is in the proposal's group; dave is not
    files = {
        PurePosixPath(f["path"]).name: f
        for f in _register(operator, h["experiment"], ["s/img.tif", "s/img.dm4"])["files"]
    }
    tif = _store_derived(operator, files["img.tif"]["id"], b"\x89HDF\r\n\x1a\n" + b"1" * 400)
    dm4 = _store_derived(operator, files["img.dm4"]["id"], b"\x89HDF\r\n\x1a\n" + b"2" * 400)
    route = f"/api/derived/{dm4['id']}/thumbnail"
    assert dm4["thumbnail"] is False
    assert member.get(route).status_code == 404  # none yet

    body = {"size": len(PNG), "sha256": sha256_hex(PNG)}
    assert member.post(route, body).status_code == 403  # readers do not write
    plan = operator.ok(operator.post(route, body))
    assert plan["bucket"] == h["proposal"]["mirror_bucket"]
    assert plan["key"] == dm4["key"].removesuffix(".nxs") + ".thumb.png"
    assert plan["key"].endswith("s/img.dm4.thumb.png")
    assert operator.post(route + "/complete").status_code == 409  # not in the bucket yet
    other = PNG[:-1] + b"\x00"
    assert httpx.put(plan["url"], content=other, headers=plan["headers"]).status_code == 400
    assert httpx.put(plan["url"], content=PNG, headers=plan["headers"]).status_code == 200
    done = operator.ok(operator.post(route + "/complete"))
    assert (done["thumbnail"], done["thumbnail_sha256"]) == (True, sha256_hex(PNG))

    redirect = member.get(route)
    assert redirect.status_code == 307
    assert httpx.get(redirect.headers["location"]).content == PNG
    assert outsider.get(route).status_code == 403
    assert "not a member" in outsider.get(route).json()["detail"]
    assert anonymous.get(route).status_code == 401
    assert (
        operator.get("/api/derived/00000000-0000-0000-0000-000000000000/thumbnail").status_code
        == 404
    )

    # The mirror listing points the NXem at its thumbnail, beside it; the other NXem has none.
    mirror = h["proposal"]["mirror_bucket"]
    listing = member.ok(
        member.get(f"/api/buckets/{mirror}/objects", prefix=dm4["key"].rsplit("/", 1)[0])
    )
    shown = {o["key"]: o["thumbnail"] for o in listing["objects"]}
    assert (shown[dm4["key"]], shown[tif["key"]]) == (dm4["id"], None)
    assert plan["key"] in shown
    missing = operator.ok(operator.get("/api/thumbnails/missing", proposal=h["proposal"]["number"]))
    assert [d["id"] for d in missing] == [tif["id"]]
    assert outsider.ok(outsider.get("/api/thumbnails/missing", proposal=h["proposal"]["id"])) == []

    # New NXem bytes: the old picture is not theirs.
    again = _store_derived(operator, files["img.dm4"]["id"], b"\x89HDF\r\n\x1a\n" + b"3" * 400)
    assert (again["id"], again["thumbnail"]) == (dm4["id"], False)
    assert member.get(route).status_code == 404
