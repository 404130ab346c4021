"""Presigned uploads and downloads driven with plain HTTP, as any client would."""

from __future__ import annotations

import hashlib
import os
from pathlib import PurePosixPath

import httpx
import pytest

from tests.support.catalog import sha256_hex

MiB = 1024 * 1024


def _register(api, experiment, files: dict[str, bytes], **fields) -> dict:
    body = {
        "experiment": experiment["id"],
        "instrument_pair": "generic",
        "operator": "op-bob",
        "description": "test measurement",
        "files": [
            {"path": path, "size": len(data), "sha256": sha256_hex(data)}
            for path, data in files.items()
        ],
        **fields,
    }
    return api.ok(api.post("/api/measurements", body), 201)


def test_single_upload_is_verified_by_s3_and_stored_only_after_complete(operator, admin, s3_client):
    h = admin.make_hierarchy()
    data = os.urandom(300_000)
    measurement = _register(operator, h["experiment"], {"images/a.tif": data})
    (file,) = measurement["files"]
    assert file["state"] == "pending"
    assert file["key"].endswith(f"/raw/{measurement['slug']}/images/a.tif")
    assert file["key"].startswith(
        f"{h['project']['slug']}/PROPOSAL-{h['proposal']['number_slug']}/"
        f"SAMPLE-{h['sample']['slug']}/EXP-{h['experiment']['slug']}/raw/"
    )

    plan = operator.ok(operator.post(f"/api/files/{file['id']}/upload"), 200)
    assert plan["method"] == "single"
    assert "x-amz-checksum-sha256" in plan["headers"]

    tampered = bytearray(data)
    tampered[1000] ^= 0xFF
    refused = httpx.put(plan["url"], content=bytes(tampered), headers=plan["headers"])
    assert refused.status_code == 400
    early = operator.post(f"/api/files/{file['id']}/complete", {"parts": []})
    assert early.status_code == 409  # nothing in storage: never `stored`
    assert operator.ok(operator.get(f"/api/files/{file['id']}"))["state"] == "failed"

    plan = operator.ok(operator.post(f"/api/files/{file['id']}/upload"), 200)
    assert httpx.put(plan["url"], content=data, headers=plan["headers"]).status_code == 200
    stored = operator.ok(operator.post(f"/api/files/{file['id']}/complete", {"parts": []}), 200)
    assert stored["state"] == "stored"
    assert stored["stored_at"]

    listed = operator.ok(operator.get("/api/measurements", experiment=h["experiment"]["id"]))
    assert listed[0]["files"][0]["state"] == "stored"

    download = operator.ok(operator.get(f"/api/files/{file['id']}/download"))
    assert download["sha256"] == sha256_hex(data)
    body = httpx.get(download["url"]).content
    assert hashlib.sha256(body).hexdigest() == download["sha256"]

    readme = (
        s3_client.get_object(
            Bucket=h["proposal"]["raw_bucket"],
            Key=file["key"].rsplit("/images/", 1)[0] + "/README.txt",
        )["Body"]
        .read()
        .decode()
    )
    assert "kind: measurement" in readme
    assert "operator: op-bob" in readme
    assert "files: 1" in readme
    # No pair chosen ("generic"): each file had its own detected mapping, which the line says
    # (it read "instrument_pair: generic" for files converted with specific mappings).
    assert "instrument_pair: detected from each file" in readme


def _put_part(url: str, headers: dict, body: bytes) -> httpx.Response:
    return httpx.put(url, content=body, headers=headers, timeout=60)


def test_multipart_upload_resumes_refuses_tampered_parts_and_completes(operator, admin):
    h = admin.make_hierarchy()
    data = os.urandom(17 * MiB + 12345)  # the test server's multipart threshold is 16 MiB
    measurement = _register(operator, h["experiment"], {"stack.tif": data})
    file_id = measurement["files"][0]["id"]

    plan = operator.ok(operator.post(f"/api/files/{file_id}/upload"))
    assert plan["method"] == "multipart"
    assert plan["part_size"] == 8 * MiB
    assert plan["part_count"] == 3
    assert plan["parts_done"] == []
    size = plan["part_size"]
    parts = [data[i : i + size] for i in range(0, len(data), size)]
    hashes = [sha256_hex(p) for p in parts]

    urls = operator.ok(
        operator.post(
            f"/api/files/{file_id}/parts",
            {"parts": [{"number": n + 1, "sha256": hashes[n]} for n in range(2)]},
        )
    )["parts"]
    first = _put_part(urls[0]["url"], urls[0]["headers"], parts[0])
    assert first.status_code == 200
    corrupted = bytearray(parts[1])
    corrupted[-1] ^= 0x01
    refused = _put_part(urls[1]["url"], urls[1]["headers"], bytes(corrupted))
    assert refused.status_code == 400  # S3 compares the signed part checksum

    # A client restarting asks again: same upload, and S3 holds only part 1.
    again = operator.ok(operator.post(f"/api/files/{file_id}/upload"))
    assert again["upload_id"] == plan["upload_id"]
    assert [p["number"] for p in again["parts_done"]] == [1]
    assert again["parts_done"][0]["size"] == len(parts[0])

    etags = {1: first.headers["etag"]}
    urls = operator.ok(
        operator.post(
            f"/api/files/{file_id}/parts",
            {"parts": [{"number": n, "sha256": hashes[n - 1]} for n in (2, 3)]},
        )
    )["parts"]
    for presigned, body in zip(urls, parts[1:], strict=True):
        response = _put_part(presigned["url"], presigned["headers"], body)
        assert response.status_code == 200
        etags[presigned["number"]] = response.headers["etag"]

    incomplete = operator.post(
        f"/api/files/{file_id}/complete",
        {"parts": [{"number": 1, "etag": etags[1], "sha256": hashes[0]}]},
    )
    assert incomplete.status_code == 422

    done = operator.ok(
        operator.post(
            f"/api/files/{file_id}/complete",
            {
                "parts": [
                    {"number": n, "etag": etags[n], "sha256": hashes[n - 1]} for n in (1, 2, 3)
                ]
            },
        )
    )
    assert done["state"] == "stored"
    download = operator.ok(operator.get(f"/api/files/{file_id}/download"))
    assert hashlib.sha256(httpx.get(download["url"], timeout=60).content).hexdigest() == (
        sha256_hex(data)
    )
    assert operator.post(f"/api/files/{file_id}/upload").status_code == 409  # already stored


def test_multipart_part_beyond_the_file_is_refused(operator, admin):
    h = admin.make_hierarchy()
    measurement = _register(operator, h["experiment"], {"big.bin": os.urandom(17 * MiB)})
    file_id = measurement["files"][0]["id"]
    operator.ok(operator.post(f"/api/files/{file_id}/upload"))
    beyond = operator.post(
        f"/api/files/{file_id}/parts", {"parts": [{"number": 4, "sha256": "0" * 64}]}
    )
    assert beyond.status_code == 422


def test_abort_clears_the_upload_and_a_new_one_starts_fresh(operator, admin):
    h = admin.make_hierarchy()
    data = os.urandom(17 * MiB)
    measurement = _register(operator, h["experiment"], {"abort.bin": data})
    file_id = measurement["files"][0]["id"]
    first = operator.ok(operator.post(f"/api/files/{file_id}/upload"))
    aborted = operator.ok(operator.delete(f"/api/files/{file_id}/upload"))
    assert aborted["state"] == "pending"
    second = operator.ok(operator.post(f"/api/files/{file_id}/upload"))
    assert second["upload_id"] != first["upload_id"]
    assert second["parts_done"] == []


def test_file_paths_are_sanitised_or_refused_by_name(operator, admin):
    h = admin.make_hierarchy()
    data = b"x"
    nice = _register(
        operator,
        h["experiment"],
        {"folder\\sub\\Cafe\u0301.tif": data, "./a//b.tif": data},
    )
    paths = sorted(f["path"] for f in nice["files"])
    assert paths == ["a/b.tif", "folder/sub/Caf\u00e9.tif"]
    for bad, word in [
        ("../etc/passwd", ".."),
        ("/abs/file.tif", "absolute"),
        ("C:\\data\\x.tif", "absolute"),
        ("bad\x07name.tif", "control"),
        ("README.txt", "reserved"),
        ("x" * 300 + ".tif", "longer"),
    ]:
        response = operator.post(
            "/api/measurements",
            {
                "experiment": h["experiment"]["id"],
                "files": [{"path": bad, "size": 1, "sha256": sha256_hex(data)}],
            },
        )
        assert response.status_code == 422, bad
        assert word in response.json()["detail"], (bad, response.json())
        assert response.json()["path"] == bad
    duplicate = operator.post(
        "/api/measurements",
        {
            "experiment": h["experiment"]["id"],
            "files": [
                {"path": "a/b.tif", "size": 1, "sha256": sha256_hex(data)},
                {"path": "a\\b.tif", "size": 1, "sha256": sha256_hex(data)},
            ],
        },
    )
    assert duplicate.status_code == 422
    unknown_pair = operator.post(
        "/api/measurements", {"experiment": h["experiment"]["id"], "instrument_pair": "NOPE"}
    )
    assert unknown_pair.status_code == 422
    assert unknown_pair.json()["field"] == "instrument_pair"


def test_measurement_create_is_idempotent_on_its_id(operator, admin):
    import uuid

    h = admin.make_hierarchy()
    measurement_id = str(uuid.uuid4())
    files = {"a.tif": b"1", "b.tif": b"2"}
    body = {
        "id": measurement_id,
        "experiment": h["experiment"]["id"],
        "files": [{"path": p, "size": len(d), "sha256": sha256_hex(d)} for p, d in files.items()],
    }
    first = operator.post("/api/measurements", body)
    assert first.status_code == 201
    replay = operator.post("/api/measurements", body)
    assert replay.status_code == 200
    assert replay.json()["files"] == first.json()["files"]
    different = operator.post("/api/measurements", {**body, "files": body["files"][:1]})
    assert different.status_code == 409


def test_derived_nxem_goes_to_the_mirror_bucket(operator, admin, s3_client):
    h = admin.make_hierarchy()
    data = os.urandom(1000)
    measurement = _register(operator, h["experiment"], {"scan/image.tif": data})
    file = measurement["files"][0]
    nxs = b"\x89HDF\r\n\x1a\n" + os.urandom(5000)
    derived = operator.ok(
        operator.post(
            f"/api/files/{file['id']}/derived",
            {"size": len(nxs), "sha256": sha256_hex(nxs), "valid": True, "report": "valid"},
        )
    )
    assert derived["bucket"] == h["proposal"]["mirror_bucket"]
    assert derived["key"] == file["key"][: -len(".tif")] + ".nxs"
    not_yet = operator.post(f"/api/derived/{derived['id']}/complete")
    assert not_yet.status_code == 409
    assert httpx.put(derived["url"], content=nxs, headers=derived["headers"]).status_code == 200
    done = operator.ok(operator.post(f"/api/derived/{derived['id']}/complete"))
    assert done["state"] == "stored"
    assert done["valid"] is True
    got = s3_client.get_object(Bucket=derived["bucket"], Key=derived["key"])["Body"].read()
    assert got == nxs
    listed = operator.ok(operator.get(f"/api/files/{file['id']}"))
    assert listed["derived"][0]["id"] == derived["id"]


@pytest.mark.parametrize("count", [25])
def test_bucket_browsing_pages_folders_and_presigns(operator, admin, s3_client, count):
    h = admin.make_hierarchy()
    bucket = h["proposal"]["raw_bucket"]
    for i in range(count):
        s3_client.put_object(Bucket=bucket, Key=f"bulk/f{i:03d}.dat", Body=b"x" * i)
    s3_client.put_object(Bucket=bucket, Key="bulk/sub/inner.dat", Body=b"y")
    buckets = operator.ok(operator.get("/api/buckets"))
    kinds = {(b["name"], b["kind"]) for b in buckets}
    assert (bucket, "raw") in kinds
    assert (h["proposal"]["mirror_bucket"], "mirror") in kinds

    top = operator.ok(operator.get(f"/api/buckets/{bucket}/objects"))
    assert f"{h['project']['slug']}/" in top["folders"]
    assert "bulk/" in top["folders"]

    names, folders, cursor = [], [], None
    while True:
        params = {"prefix": "bulk", "limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = operator.ok(operator.get(f"/api/buckets/{bucket}/objects", **params))
        assert len(page["objects"]) + len(page["folders"]) <= 10
        names += [o["name"] for o in page["objects"]]
        folders += page["folders"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert names == [f"f{i:03d}.dat" for i in range(count)]
    assert folders == ["bulk/sub/"]

    urls = operator.ok(
        operator.post(f"/api/buckets/{bucket}/presign", {"keys": ["bulk/f003.dat"]})
    )["urls"]
    assert httpx.get(urls[0]["url"]).content == b"xxx"
    missing = operator.get("/api/buckets/not-a-lamefair-bucket/objects")
    assert missing.status_code == 404


def test_batch_plans_and_completes_for_many_files(operator, admin, s3_client):
    h = admin.make_hierarchy()
    small = {f"s{i}.tif": os.urandom(1000 + i) for i in range(6)}
    big = os.urandom(17 * MiB)
    measurement = _register(operator, h["experiment"], {**small, "big.tif": big})
    ids = {f["path"]: f["id"] for f in measurement["files"]}
    mid = measurement["id"]

    # One file is already stored: the batch says so per file instead of failing as a whole.
    first = ids["s0.tif"]
    plan = operator.ok(operator.post(f"/api/files/{first}/upload"))
    httpx.put(plan["url"], content=small["s0.tif"], headers=plan["headers"]).raise_for_status()
    operator.ok(operator.post(f"/api/files/{first}/complete", {"parts": []}))

    answer = operator.ok(
        operator.post(f"/api/measurements/{mid}/uploads", {"files": list(ids.values())})
    )
    methods = {p["file"]: p["plan"]["method"] for p in answer["plans"]}
    assert methods[ids["big.tif"]] == "multipart"
    assert all(methods[ids[f"s{i}.tif"]] == "single" for i in range(1, 5))
    assert answer["errors"] == [
        {"file": first, "detail": "s0.tif is already stored; nothing to upload.", "state": "stored"}
    ]
    plans = {p["file"]: p["plan"] for p in answer["plans"]}
    for name in ("s1.tif", "s2.tif", "s3.tif"):
        put = httpx.put(
            plans[ids[name]]["url"], content=small[name], headers=plans[ids[name]]["headers"]
        )
        assert put.status_code == 200
    # s4.tif was never sent, and under s5.tif's key lies an object of another size (written
    # past the catalog): each is refused alone, the others are stored.
    keys = {f["path"]: f["key"] for f in measurement["files"]}
    s3_client.put_object(Bucket=h["proposal"]["raw_bucket"], Key=keys["s5.tif"], Body=b"short")
    names = ("s1.tif", "s2.tif", "s3.tif", "s4.tif", "s5.tif")
    done = operator.ok(
        operator.post(
            f"/api/measurements/{mid}/complete",
            {"files": [{"id": ids[n], "parts": []} for n in names]},
        )
    )
    assert sorted(f["path"] for f in done["files"]) == ["s1.tif", "s2.tif", "s3.tif"]
    assert all(f["state"] == "stored" for f in done["files"])
    errors = {e["file"]: e["detail"] for e in done["errors"]}
    assert list(errors) == [ids["s4.tif"], ids["s5.tif"]]
    assert "not in object storage" in errors[ids["s4.tif"]]
    assert "has 5 bytes in storage" in errors[ids["s5.tif"]]
    assert operator.ok(operator.get(f"/api/files/{ids['s4.tif']}"))["state"] == "failed"

    stranger = operator.post(
        f"/api/measurements/{mid}/uploads", {"files": ["00000000-0000-0000-0000-000000000000"]}
    )
    assert stranger.status_code == 404
    # A file of another measurement is no file of this one: neither planned nor completed
    # through it (the batch reads only the files it names, and only of this measurement).
    other = _register(operator, h["experiment"], {"elsewhere.tif": b"x" * 10})
    elsewhere = other["files"][0]["id"]
    for route, body in (
        ("uploads", {"files": [elsewhere]}),
        ("complete", {"files": [{"id": elsewhere, "parts": []}]}),
    ):
        refused = operator.post(f"/api/measurements/{mid}/{route}", body)
        assert refused.status_code == 404
        assert elsewhere in refused.json()["detail"]
    assert operator.ok(operator.get(f"/api/files/{elsewhere}"))["state"] == "pending"


def _store_derived(operator, file_id: str, nxs: bytes) -> dict:
    derived = operator.ok(
        operator.post(
            f"/api/files/{file_id}/derived",
            {"size": len(nxs), "sha256": sha256_hex(nxs), "valid": True, "report": "valid"},
        )
    )
    assert httpx.put(derived["url"], content=nxs, headers=derived["headers"]).status_code == 200
    return operator.ok(operator.post(f"/api/derived/{derived['id']}/complete"))


def test_raw_files_of_one_name_and_other_formats_keep_their_own_nxem(operator, admin, s3_client):
    """`img.tif` and `img.dm4` side by side (a common export pattern) would both derive `img.nxs`:
    the second conversion overwrote the first's NXem in the mirror bucket, and the first file's
    record then described bytes of another image. Each keeps its own object; a reconversion
    replaces its own."""
    h = admin.make_hierarchy()
    measurement = _register(
        operator, h["experiment"], {"s/img.tif": b"tif", "s/img.dm4": b"dm4", "s/img.tiff": b"t"}
    )
    files = {PurePosixPath(f["path"]).name: f for f in measurement["files"]}
    contents = {name: b"\x89HDF\r\n\x1a\n" + os.urandom(500) for name in files}
    stored = {name: _store_derived(operator, files[name]["id"], contents[name]) for name in files}
    keys = {name: d["key"] for name, d in stored.items()}
    assert len(set(keys.values())) == 3, keys
    assert keys["img.tif"].endswith("s/img.nxs")  # the first keeps the familiar name
    for name, derived in stored.items():
        got = s3_client.get_object(Bucket=derived["bucket"], Key=derived["key"])["Body"].read()
        assert got == contents[name], name
    again = _store_derived(operator, files["img.dm4"]["id"], b"\x89HDF\r\n\x1a\n" + b"2" * 300)
    assert again["key"] == keys["img.dm4"]
