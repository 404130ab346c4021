"""Search by what the microscope did, through the real catalog (SQLite and PostgreSQL), SeaweedFS
and OIDC: values sent by a real conversion are found by ranges, facets count what matches, and
nobody finds what they may not read."""

from __future__ import annotations

import shutil
import uuid

import httpx

from lamefair_catalog.database.engine import (
    SIDE_POOL_SIZE,
    make_engine,
    make_session_factory,
    make_side_session_factory,
)
from lamefair_catalog.domain.access import Principal
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.search import search
from lamefair_catalog.domain.search_query import parse_search
from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.deriver import Deriver
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from tests.support.catalog import OPERATOR, sha256_hex

FAST = UploadSettings(stable_seconds=0.05, backoff=0.1, max_backoff=1.0, retry_waiting_after=0.5)
NXS = b"\x89HDF\r\n\x1a\n" + b"0" * 64


def _derived_with(operator, experiment: dict, path: str, values: dict) -> dict:
    """A registered raw file whose NXem is stored with these acquisition values."""
    body = {"experiment": experiment["id"], "files": [{"path": path, "size": 1}]}
    file = operator.ok(operator.post("/api/measurements", body), 201)["files"][0]
    nxs = NXS + path.encode()
    plan = operator.ok(
        operator.post(
            f"/api/files/{file['id']}/derived",
            {"size": len(nxs), "sha256": sha256_hex(nxs), "valid": True, "acquisition": values},
        )
    )
    httpx.put(plan["url"], content=nxs, headers=plan["headers"]).raise_for_status()
    operator.ok(operator.post(f"/api/derived/{plan['id']}/complete"))
    return {"file": file, "derived": plan}


def _facet(page: dict, name: str) -> dict:
    return {f["value"]: f["count"] for f in page["facets"][name]}


def test_values_of_a_real_conversion_are_found_by_a_range(
    catalog_server, tokens, admin, operator, tmp_path, corpus_tiff_dir
):
    h = admin.make_hierarchy()
    source = tmp_path / "helios" / "overview.tif"
    source.parent.mkdir()
    shutil.copy(corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif", source)
    with CatalogClient(catalog_server.url, tokens[OPERATOR[0]], attempts=3, backoff=0.1) as client:
        queue = UploadQueue(open_local_db(tmp_path / "local.sqlite"))
        uploader = Uploader(client, queue, FAST)
        measurement = uploader.register(h["experiment"]["id"], [source.parent])
        derived = DerivedQueue(queue.sessions)
        derived.add(client.catalog_key, measurement, "generic")
        assert uploader.run() == {"stored": 1}
        deriver = Deriver(client, queue, derived, validate_with_pynx=False)
        assert deriver.run() == {"stored": 1}
        deriver.close()
        uploader.close()

        mine = {"proposal": h["proposal"]["id"]}
        page = client.search({**mine, "voltage": "4e3..6e3", "pixel_size": "3e-6..4e-6"})
        assert page["total"] == 1
        hit = page["hits"][0]
        assert hit["path"] == "helios/overview.tif"
        assert hit["file"] == measurement["files"][0]["id"]
        assert (hit["sample_name"], hit["elements"]) == ("Fe3O4 nanoparticles", ["Fe", "O"])
        assert hit["raw_bucket"] == h["proposal"]["raw_bucket"]
        assert hit["mirror_bucket"] == h["proposal"]["mirror_bucket"]
        assert hit["mirror_key"].endswith("helios/overview.nxs")
        values = hit["values"]
        assert values["instrument"] == 'FEI (Thermo Fisher Scientific) Helios NanoLab" 660'
        assert (values["detector"], values["voltage"], values["dwell_time"]) == ("ETD", 5e3, 1e-5)
        assert (values["width"], values["height"], values["frames"]) == (512, 442, 1)
        assert values["acquired_text"] == "2016-06-13T17:06:40+00:00"
        assert values["valid"] is True
        # Open ends, and a range it is outside of.
        assert client.search({**mine, "voltage": "..6e3", "from": "2016-06-13"})["total"] == 1
        assert client.search({**mine, "voltage": "6e3.."})["total"] == 0
        assert client.search({**mine, "to": "2016-06-12"})["total"] == 0
        assert client.search({**mine, "q": "OVERVIEW"})["total"] == 1


def test_facets_count_what_matches_and_filters_combine(admin, operator):
    project = admin.make_project()
    proposal = admin.make_proposal(project, members=["team-x"])
    gold = admin.make_experiment(
        admin.make_sample(proposal, name="gold grid", atom_types=["Au"]), name="calibration"
    )
    oxide = admin.make_experiment(admin.make_sample(proposal), name="oxide session")
    tem = {"instrument_vendor": "JEOL", "instrument_model": "ARM200F", "detector": "HAADF"}
    sem = {"instrument_vendor": "Zeiss", "instrument_model": "ULTRA", "detector": "InLens"}
    rows = [
        (gold, "a.tif", {**tem, "voltage": 200e3, "operator": "ann"}),
        (gold, "b.tif", {**tem, "voltage": 200e3, "operator": "ann"}),
        (oxide, "c.tif", {**tem, "voltage": 80e3, "operator": "bo"}),
        (oxide, "d.tif", {**sem, "voltage": 5e3, "pixel_size": 2e-9, "operator": "bo"}),
    ]
    for experiment, path, values in rows:
        _derived_with(operator, experiment, path, values)
    mine = {"proposal": proposal["id"]}

    everything = operator.ok(operator.get("/api/search", **mine))
    assert everything["total"] == 4
    assert _facet(everything, "instruments") == {"JEOL ARM200F": 3, "Zeiss ULTRA": 1}
    assert _facet(everything, "detectors") == {"HAADF": 3, "InLens": 1}
    assert _facet(everything, "voltages") == {200e3: 2, 80e3: 1, 5e3: 1}
    assert _facet(everything, "elements") == {"Fe": 2, "O": 2, "Au": 2}
    assert _facet(everything, "operators") == {"ann": 2, "bo": 2}

    tem_only = operator.ok(operator.get("/api/search", **mine, voltage="50e3..", detector="HAADF"))
    assert tem_only["total"] == 3
    assert _facet(tem_only, "elements") == {"Au": 2, "Fe": 1, "O": 1}
    by_element = operator.ok(operator.get("/api/search", **mine, element="Au"))
    assert sorted(h["path"] for h in by_element["hits"]) == ["a.tif", "b.tif"]
    by_name = operator.ok(operator.get("/api/search", **mine, q="oxide", operator="bo"))
    assert sorted(h["path"] for h in by_name["hits"]) == ["c.tif", "d.tif"]
    paged = [operator.ok(operator.get("/api/search", **mine, limit=3, offset=o)) for o in (0, 3)]
    assert [len(p["hits"]) for p in paged] == [3, 1]
    assert len({h["file"] for p in paged for h in p["hits"]}) == 4


def test_nobody_finds_what_they_may_not_read(admin, operator, member, outsider):
    word = uuid.uuid4().hex[:10]  # names only this test's samples carry
    project = admin.make_project()
    carols = admin.make_proposal(project, members=["carol"])
    hidden = admin.make_proposal(project, members=["someone-else"])
    for proposal, detector in ((carols, "ETD"), (hidden, "SECRET-DETECTOR")):
        experiment = admin.make_experiment(admin.make_sample(proposal, name=f"{word} sample"))
        _derived_with(operator, experiment, "x.tif", {"detector": detector, "voltage": 1e3})

    seen = member.ok(member.get("/api/search", q=word))
    assert seen["total"] == 1
    assert [h["proposal"] for h in seen["hits"]] == [carols["id"]]
    assert _facet(seen, "detectors") == {"ETD": 1}
    asked = member.ok(member.get("/api/search", proposal=hidden["id"]))
    assert (asked["total"], asked["hits"], _facet(asked, "detectors")) == (0, [], {})
    nothing = outsider.ok(outsider.get("/api/search", q=word))
    assert (nothing["total"], nothing["hits"], _facet(nothing, "elements")) == (0, [], {})
    assert operator.ok(operator.get("/api/search", q=word))["total"] == 2


def test_bad_values_are_refused_naming_the_parameter(member, anonymous):
    for params, named in (
        ({"voltage": "lots"}, "voltage"),
        ({"pixel_size": "5..1"}, "pixel_size"),
        ({"from": "yesterday"}, "from"),
        ({"limit": "0"}, "limit"),
        ({"element": "Xx1"}, "element"),
        ({"voltag": "1"}, "voltag"),
    ):
        answer = member.get("/api/search", **params)
        assert answer.status_code == 422, (params, answer.text)
        assert f"'{named}'" in answer.json()["detail"]
    assert anonymous.get("/api/search").status_code == 401


def test_a_search_with_every_side_connection_taken_counts_on_its_own(
    catalog_database_url, admin, operator
):
    """On PostgreSQL a search counts its facets on a second, small pool while it reads its page;
    that pool never waits. With all its connections held (a burst of searches), a search counts
    on its own connection and answers the same, instead of failing or waiting for one."""
    word = uuid.uuid4().hex[:10]
    project = admin.make_project()
    proposal = admin.make_proposal(project)
    experiment = admin.make_experiment(admin.make_sample(proposal, name=f"{word} lamella"))
    for path in ("a.tif", "b.tif", "c.tif"):
        _derived_with(operator, experiment, path, {"detector": "HAADF", "voltage": 300e3})
    engine = make_engine(catalog_database_url)
    catalog = Catalog(
        None,  # search reads no settings
        make_session_factory(engine),
        None,  # nor storage
        known_pairs=frozenset(),
        side_sessions=make_side_session_factory(catalog_database_url, connect_timeout=5),
    )
    query = parse_search([("q", word), ("voltage", "250e3..")])
    reader = Principal("search-test", is_admin=True)
    free = search(catalog, reader, query)
    assert (free.total, free.facets.detectors[0].count, free.facets.elements[0].count) == (3, 3, 3)
    if catalog.side_sessions is None:  # SQLite: one connection does both, one after the other
        assert engine.dialect.name == "sqlite"
        return
    held = [catalog.side_sessions() for _ in range(SIDE_POOL_SIZE)]
    try:
        for session in held:
            session.connection()
        with catalog.side_session() as side:
            assert side is None  # the pool is taken: nothing waits for it
        assert search(catalog, reader, query) == free
    finally:
        for session in held:
            session.close()
        engine.dispose()
        catalog.side_sessions.kw["bind"].dispose()


def test_pages_go_newest_first_across_proposals_and_undated_files_last(admin, operator, member):
    """The page order is the acquisition time, newest first, over every proposal the caller reads
    (PostgreSQL asks each proposal for its newest, then merges), with files that state no time
    after all dated ones; paging walks each file once."""
    word = uuid.uuid4().hex[:10]
    project = admin.make_project()
    times = {
        "first": ["2021-03-01T10:00:00+00:00", "2024-06-01T10:00:00+00:00", None],
        "second": ["2023-01-01T10:00:00+00:00", "2025-02-01T10:00:00+00:00", None],
    }
    for name, stamps in times.items():
        proposal = admin.make_proposal(project, members=["team-x"])
        experiment = admin.make_experiment(admin.make_sample(proposal, name=f"{word} {name}"))
        for n, stamp in enumerate(stamps):
            values = {"voltage": 200e3, **({"acquired_at": stamp} if stamp else {})}
            _derived_with(operator, experiment, f"{name}-{n}.tif", values)
    pages = [
        member.ok(member.get("/api/search", q=word, limit=2, offset=offset)) for offset in (0, 2, 4)
    ]
    walked = [hit["path"] for page in pages for hit in page["hits"]]
    assert walked[:4] == ["second-1.tif", "first-1.tif", "second-0.tif", "first-0.tif"]
    assert sorted(walked[4:]) == ["first-2.tif", "second-2.tif"]
    assert {page["total"] for page in pages} == {6}
