"""Bad input gets a 422 naming what is wrong, on SQLite and PostgreSQL alike, never a 500.

PostgreSQL refuses what SQLite stores (NUL characters, strings longer than a varchar column), so
these run against both backends (see conftest.py).
"""

from __future__ import annotations

import uuid

from tests.support.catalog import sha256_hex

# Each kind of entity, the schema of its create body, and its free-text fields.
TEXT_FIELDS = {
    "projects": ("ProjectIn", ["name", "description"]),
    "proposals": ("ProposalIn", ["number", "pi_name", "title", "description"]),
    "samples": ("SampleIn", ["name", "identifier", "physical_form", "description"]),
    "experiments": ("ExperimentIn", ["name", "description"]),
    "measurements": ("MeasurementIn", ["operator", "description"]),
}


def _text(length: int) -> str:
    """Unique text of `length` characters (names must not collide between runs)."""
    return (uuid.uuid4().hex * (length // 32 + 1))[:length]


def _create(api, h: dict, kind: str, **fields):
    required = {
        "projects": {"name": _text(12)},
        "proposals": {"project": h["project"]["id"], "number": _text(8)},
        "samples": {"proposal": h["proposal"]["id"], "name": _text(12)},
        "experiments": {"sample": h["sample"]["id"], "name": _text(12)},
        "measurements": {"experiment": h["experiment"]["id"]},
    }[kind]
    return api.post(f"/api/{kind}", {**required, **fields})


def _refused(response, field: str) -> str:
    assert response.status_code == 422, (field, response.status_code, response.text[:300])
    assert field in [error["field"] for error in response.json()["errors"]], response.json()
    return response.json()["detail"]


def test_each_text_field_keeps_its_longest_value_and_refuses_one_more(admin):
    """The limits the API publishes are the ones the database keeps (PostgreSQL's varchar)."""
    schemas = admin.ok(admin.get("/api/openapi.json"))["components"]["schemas"]
    h = admin.make_hierarchy()
    for kind, (schema, fields) in TEXT_FIELDS.items():
        for field in fields:
            limit = schemas[schema]["properties"][field]["maxLength"]
            longest = _text(limit)
            stored = admin.ok(_create(admin, h, kind, **{field: longest}), 201)
            assert stored[field] == longest, (kind, field)
            _refused(_create(admin, h, kind, **{field: _text(limit + 1)}), field)
    member_limit = schemas["ProposalIn"]["properties"]["members"]["items"]["maxLength"]
    longest = _text(member_limit)
    stored = admin.ok(_create(admin, h, "proposals", members=[longest]), 201)
    assert stored["members"] == [longest]
    _refused(_create(admin, h, "proposals", members=[_text(member_limit + 1)]), "members.0")


def test_nul_and_control_characters_are_refused_naming_the_field(admin):
    h = admin.make_hierarchy()
    for kind, (_, fields) in TEXT_FIELDS.items():
        for field in fields:
            detail = _refused(_create(admin, h, kind, **{field: "before\x00after"}), field)
            assert "U+0000" in detail
    _refused(_create(admin, h, "proposals", members=["team\x00x"]), "members.0")
    project = f"/api/projects/{h['project']['id']}"
    _refused(admin.patch(project, {"description": "null\x00byte"}), "description")
    sample = f"/api/samples/{h['sample']['id']}"
    _refused(admin.patch(sample, {"identifier": "S\x00-1"}), "identifier")

    # Terminal escapes, C1 controls and text-direction overrides in a one-line name.
    for bad in ("red \x1b[31m", "next\x85line", "tab\there", "txt.\u202eexe", "\u2066isolated"):
        _refused(_create(admin, h, "samples", name=bad), "name")
    # Multi-line text keeps its tabs and line breaks.
    text = "Line one\r\n\tindented line two\n"
    assert admin.ok(_create(admin, h, "samples", description=text), 201)["description"] == text
    # A bucket name with a NUL is not a bucket, on every backend.
    assert admin.get("/api/buckets/lame%00raw/objects").status_code in (404, 422)


def _measurement(api, h: dict, paths: list[str]):
    data = b"x"
    files = [{"path": path, "size": 1, "sha256": sha256_hex(data)} for path in paths]
    return api.post("/api/measurements", {"experiment": h["experiment"]["id"], "files": files})


def test_file_paths_that_cannot_share_a_folder_are_refused_naming_both(admin, operator):
    h = admin.make_hierarchy()
    for paths, words in [
        (["dir", "dir/file.bin"], "needs a folder"),
        (["dir/file.bin", "dir"], "needs a folder"),
        (["A.tif", "a.tif"], "upper/lower case"),
        (["Dir/x.tif", "dir/y.tif"], "upper/lower case"),
    ]:
        response = _measurement(operator, h, paths)
        detail = _refused_path(response, paths)
        assert words in detail
        assert all(repr(path) in detail for path in paths), detail
    flipped = _measurement(operator, h, ["scan\u202egnp.exe"])
    assert "U+202E" in _refused_path(flipped, ["scan\u202egnp.exe"])
    # Folders of the same name (same case) are fine.
    assert _measurement(operator, h, ["Dir/x.tif", "Dir/y.tif", "b.tif"]).status_code == 201


def _refused_path(response, paths: list[str]) -> str:
    assert response.status_code == 422, (paths, response.status_code, response.text[:300])
    body = response.json()
    assert body["field"] == f"files[{len(paths) - 1}].path", body
    return body["detail"]


def test_numbers_and_flags_must_be_json_numbers_and_booleans(admin, operator):
    """A size of "10" or true is a client bug; coercing it would store something nobody sent."""
    h = admin.make_hierarchy()
    digest = sha256_hex(b"0123456789")
    for size in ("10", True, 10.0):
        file = {"path": "a.tif", "size": size, "sha256": digest}
        body = {"experiment": h["experiment"]["id"], "files": [file]}
        _refused(operator.post("/api/measurements", body), "files.0.size")
    for flag in ("true", 1):
        _refused(_create(admin, h, "samples", is_simulation=flag), "is_simulation")
    nowhere = uuid.uuid4()
    part = {"parts": [{"number": "1", "sha256": digest}]}
    _refused(operator.post(f"/api/files/{nowhere}/parts", part), "parts.0.number")
    derived = {"size": 10, "sha256": digest, "valid": 1}
    _refused(operator.post(f"/api/files/{nowhere}/derived", derived), "valid")
    file = {"path": "a.tif", "size": 10, "sha256": digest}
    body = {"experiment": h["experiment"]["id"], "files": [file]}
    assert operator.post("/api/measurements", body).status_code == 201


def test_a_give_up_reason_with_a_nul_is_refused_naming_the_field(admin, operator):
    """The reason lands in the file's `error` column: PostgreSQL cannot store a NUL (was a 500)."""
    h = admin.make_hierarchy()
    file = admin.ok(_measurement(operator, h, ["scan.tif"]), 201)["files"][0]
    give_up = f"/api/files/{file['id']}/give-up"
    detail = _refused(operator.post(give_up, {"reason": "source\x00gone"}), "reason")
    assert "U+0000" in detail
    reason = "The source changed.\n\tIt was rewritten by the microscope."
    assert operator.ok(operator.post(give_up, {"reason": reason}))["error"] == reason
