"""`lamefair export` through the real stack: a TIFF uploaded and converted (catalog, SeaweedFS,
the FAIRmat judge), exported as an `.eln`, then checked by roc-validator and read back by rocrate
(both from PyPI), as a repository receiving the crate would."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
import requests
import rocrate
import urllib3
from rocrate.rocrate import ROCrate
from rocrate_validator import models, services
from rocrate_validator.utils.http import HttpRequester

from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.export.eln_zip import ExportCancelled
from lamefair_desktop.export.job import ExportRequest, export_crate
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.deriver import Deriver
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from tests.support.catalog import OUTSIDER, oidc_login

LAMEFAIR = str(Path(sys.executable).parent / "lamefair")
FAST = UploadSettings(stable_seconds=0.05, backoff=0.1, max_backoff=1.0, retry_waiting_after=0.5)
MiB = 1024 * 1024
CONTEXT = "https://w3id.org/ro/crate/1.1/context"
PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def _run(env: dict, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LAMEFAIR, *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def _export(env: dict, kind: str, entity_id: str, out: str) -> subprocess.CompletedProcess[str]:
    """`lamefair export --<kind> ID -o OUT --license CC-BY-4.0`, as a user types it."""
    return _run(env, "export", f"--{kind}", entity_id, "-o", out, "--license", "CC-BY-4.0")


def _env(tmp_path: Path, server: str, token: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    env.update(LAMEFAIR_HOME=str(tmp_path / "home"), LAMEFAIR_SERVER=server, LAMEFAIR_TOKEN=token)
    return env


def _upload(client, queue, experiment_id: str, inputs: list[Path], convert: bool) -> dict:
    uploader = Uploader(client, queue, FAST)
    measurement = uploader.register(experiment_id, inputs, operator="op-bob")
    derived = DerivedQueue(queue.sessions)
    if convert:
        derived.add(client.catalog_key, measurement, "generic")
    try:
        assert set(uploader.run()) == {"stored"}
        if convert:
            deriver = Deriver(client, queue, derived)
            try:
                assert deriver.run() == {"stored": 1}
            finally:
                deriver.close()
    finally:
        uploader.close()
    return measurement


@pytest.fixture(scope="module")
def stored(transfer_catalog, admin_token, tmp_path_factory, corpus_tiff_dir):
    """One experiment with two measurements: a TIFF converted to NXem beside a note, and a
    second upload without conversion."""
    from tests.support.catalog import Api

    api = Api(transfer_catalog.url, admin_token)
    hierarchy = api.make_hierarchy()
    folder = tmp_path_factory.mktemp("export-sources")
    grid = folder / "grid 3"  # a space: crate ids must be percent-encoded
    grid.mkdir()
    shutil.copy(corpus_tiff_dir / "test_tiff_Zeiss_SEM_512pix.tif", grid / "overview.tif")
    (grid / "notes.txt").write_text("spot 3, 5 kV\n")
    second = folder / "eds.bin"
    second.write_bytes(os.urandom(3 * MiB))
    queue = UploadQueue(open_local_db(folder / "local.sqlite"))
    with CatalogClient(transfer_catalog.url, admin_token, attempts=4, backoff=0.1) as client:
        experiment = hierarchy["experiment"]["id"]
        first = _upload(client, queue, experiment, [grid], convert=True)
        other = _upload(client, queue, experiment, [second], convert=False)
    return {
        "hierarchy": hierarchy,
        "measurement": first,
        "other": other,
        "sources": grid,
        "eds": second,
        "api": api,
    }


def _open_crate(eln: Path, into: Path) -> tuple[Path, dict]:
    with zipfile.ZipFile(eln) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
        assert tops == {eln.stem}  # the ELN profile: exactly one folder at the root
        archive.extractall(into)
    root = into / eln.stem
    return root, json.loads((root / "ro-crate-metadata.json").read_text())


def _validate(root: Path, cache: Path) -> None:
    """roc-validator, profile ro-crate-1.1 (the .eln profile's base: the validator has no ELN
    profile), REQUIRED requirements: no issue at all.

    This machine has no internet, and the validator resolves the crate's `@context` URL over
    HTTP. It runs in its offline mode (HTTP only from its cache), the cache holding the RO-Crate
    context that the `rocrate` package ships (1.3's: every 1.1 term, same IRIs) under the 1.1
    URL, as `rocrate-validator cache warm` would have stored the real one."""
    settings = services.ValidationSettings(
        rocrate_uri=root,
        profile_identifier="ro-crate-1.1",
        requirement_severity=models.Severity.REQUIRED,
        offline=True,
        cache_path=cache,
    )
    _seed_context(HttpRequester().session.cache)
    result = services.validate(settings)
    issues = [f"{i.check.identifier}: {i.message}" for i in result.get_issues()]
    assert not issues, issues
    assert result.passed()


def _seed_context(cache) -> None:
    body = (Path(rocrate.__file__).parent / "data" / "ro-crate.jsonld").read_bytes()
    headers = {"Content-Type": "application/ld+json"}
    response = requests.Response()
    response.status_code, response._content, response.url = 200, body, CONTEXT
    response.encoding = "utf-8"
    response.headers.update(headers)
    response.raw = urllib3.HTTPResponse(
        body=io.BytesIO(body),
        headers=headers,
        status=200,
        preload_content=False,
        request_url=CONTEXT,
    )
    for accept in (
        "application/ld+json, application/json",
        "application/ld+json, application/json, */*;q=0.1",
    ):
        response.request = requests.Request("GET", CONTEXT, headers={"Accept": accept}).prepare()
        cache.save_response(response)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_measurement_exports_as_a_valid_crate_with_the_raw_bytes_nxem_and_readme(
    stored, transfer_catalog, admin_token, tmp_path
):
    measurement = stored["measurement"]
    out = tmp_path / "grid3.eln"
    result = _export(
        _env(tmp_path, transfer_catalog.url, admin_token),
        "measurement",
        measurement["id"],
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    root, metadata = _open_crate(out, tmp_path / "x")
    files = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
    raw = {
        f["path"]: f
        for f in stored["api"].ok(stored["api"].get(f"/api/measurements/{measurement['id']}"))[
            "files"
        ]
    }
    tif_key, notes_key = raw["grid 3/overview.tif"]["key"], raw["grid 3/notes.txt"]["key"]
    assert files[tif_key].read_bytes() == (stored["sources"] / "overview.tif").read_bytes()
    assert files[notes_key].read_bytes() == b"spot 3, 5 kV\n"
    nxs = raw["grid 3/overview.tif"]["derived"][0]
    assert files[nxs["key"]].read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    readme = tif_key.rsplit("grid 3/", 1)[0] + "README.txt"
    assert "kind: measurement" in files[readme].read_text()

    _validate(root, tmp_path / "validator-cache")
    crate = ROCrate(root)  # read back by another implementation
    assert crate.root_dataset["license"].id == "https://spdx.org/licenses/CC-BY-4.0"
    tif = crate.get(tif_key.replace(" ", "%20"))
    assert tif["sha256"] == _sha(stored["sources"] / "overview.tif")
    assert tif["contentSize"] == str((stored["sources"] / "overview.tif").stat().st_size)
    assert tif["encodingFormat"] == "image/tiff"
    nxem = crate.get(nxs["key"].replace(" ", "%20"))
    assert nxem["sha256"] == nxs["sha256"]
    assert nxem["isBasedOn"] is tif
    # The acquisition values search finds it by, as the catalog has them, on the NXem and the
    # TIFF alike, in SI units with their UN/CEFACT codes.
    hit = stored["api"].ok(
        stored["api"].get("/api/search", proposal=stored["hierarchy"]["proposal"]["id"])
    )["hits"][0]
    measured = {p["propertyID"]: p for p in nxem["variableMeasured"]}
    assert [p.id for p in tif["variableMeasured"]] == [p.id for p in nxem["variableMeasured"]]
    assert measured["voltage"].type == "PropertyValue"
    assert measured["voltage"]["value"] == hit["values"]["voltage"]
    assert (measured["voltage"]["unitCode"], measured["voltage"]["unitText"]) == ("VLT", "V")
    assert measured["pixel_size"]["value"] == hit["values"]["pixel_size"]
    assert measured["pixel_size"]["unitCode"] == "MTR"
    assert measured["instrument"]["value"] == hit["values"]["instrument"]
    assert measured["width"]["value"] == 512
    # The hierarchy: project -> proposal -> sample -> experiment -> measurement, by hasPart.
    kinds, node = [], crate.root_dataset["hasPart"][0]
    while True:
        kinds.append(node["additionalType"])
        parts = [p for p in node.get("hasPart", []) if "Dataset" in p.type]
        if not parts:
            break
        node = parts[0]
    assert kinds == ["Project", "Proposal", "Sample", "Experiment", "Measurement"]
    assert tif in node["hasPart"]
    assert nxem in node["hasPart"]
    action = node["mentions"]
    assert action.type == "CreateAction"
    assert action["agent"]["name"] == "op-bob"
    assert tif in action["result"]
    people = {e["name"] for e in crate.get_entities() if e.type == "Person"}
    assert "pi-alice" in people
    assert "op-bob" in people
    every_file = [e for e in metadata["@graph"] if e["@type"] == "File"]
    assert every_file
    assert all(len(e["sha256"]) == 64 for e in every_file)


def test_an_experiment_exports_every_measurement_and_links_only_keeps_the_raw_bytes_out(
    stored, transfer_catalog, admin_token, tmp_path
):
    experiment = stored["hierarchy"]["experiment"]
    with CatalogClient(transfer_catalog.url, admin_token) as client:
        full = export_crate(
            client, ExportRequest("experiment", experiment["id"], tmp_path / "e.eln", "CC0-1.0")
        )
        links = export_crate(
            client,
            ExportRequest("experiment", experiment["id"], tmp_path / "l.eln", "CC0-1.0", True),
        )
    # 2 + 1 raw, an NXem and its thumbnail, the READMEs of the experiment and 2 measurements
    assert full.files == 8
    root, _ = _open_crate(full.output, tmp_path / "full")
    assert [p.name for p in root.rglob("*.thumb.png")] == ["overview.thumb.png"]
    _validate(root, tmp_path / "validator-cache")
    crate = ROCrate(root)
    measurements = [e for e in crate.get_entities() if e.get("additionalType") == "Measurement"]
    assert {m["identifier"] for m in measurements} == {
        stored["measurement"]["id"],
        stored["other"]["id"],
    }
    eds = next(e for e in crate.get_entities() if e.get("name") == "eds.bin")
    assert eds["sha256"] == _sha(stored["eds"])

    # The NXem, its thumbnail and the READMEs; raw files as links.
    assert (links.files, links.linked) == (5, 3)
    root, metadata = _open_crate(links.output, tmp_path / "links")
    _validate(root, tmp_path / "validator-cache")
    linked = [e for e in metadata["@graph"] if str(e["@id"]).startswith("http")]
    assert {e["name"] for e in linked if e["@type"] == "File"} == {
        "overview.tif",
        "notes.txt",
        "eds.bin",
    }
    assert all(
        e["@id"].endswith(f"/api/files/{e['identifier']}/download")
        for e in linked
        if e["@type"] == "File"
    )
    assert not any(p.name == "overview.tif" for p in root.rglob("*"))


def test_a_tampered_object_fails_the_export_by_name_and_leaves_no_archive(
    transfer_catalog, admin_token, api, client, queue, tmp_path, s3_client
):
    source = tmp_path / "frame.bin"
    source.write_bytes(os.urandom(256 * 1024))
    hierarchy = api.make_hierarchy()
    measurement = _upload(client, queue, hierarchy["experiment"]["id"], [source], convert=False)
    file = client.get_file(measurement["files"][0]["id"])
    # Same length, other bytes: only the SHA-256 can tell (written through the gateway).
    s3_client.put_object(Bucket=file["bucket"], Key=file["key"], Body=os.urandom(256 * 1024))
    out = tmp_path / "t.eln"
    result = _export(
        _env(tmp_path, transfer_catalog.url, admin_token),
        "measurement",
        measurement["id"],
        str(out),
    )
    assert result.returncode == 1
    assert "frame.bin" in result.stderr
    assert "does not match the catalog" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.glob("t.eln*")) == []  # neither the archive nor its partial file


def test_bad_input_gets_a_clear_message_and_exit_code(
    stored, transfer_catalog, admin_token, oidc_provider, tmp_path
):
    env = _env(tmp_path, transfer_catalog.url, admin_token)
    measurement = stored["measurement"]["id"]
    cases = [
        (
            ["--measurement", "3f0c9a52-0000-4000-8000-000000000000", "-o", "a.eln"],
            2,
            "There is no measurement 3f0c9a52",
        ),
        (["--measurement", measurement, "-o", "/proc/nope/a.eln"], 2, "does not exist"),
        (["--measurement", measurement, "-o", str(tmp_path)], 2, "is a folder"),
    ]
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() != 0:
        cases.append((["--measurement", measurement, "-o", str(locked / "a.eln")], 2, "permission"))
    for args, code, message in cases:
        result = _run(env, "export", *args, "--license", "CC-BY-4.0")
        assert (result.returncode, message in result.stderr) == (code, True), result.stderr
        assert "Traceback" not in result.stderr
    no_license = _run(env, "export", "--measurement", measurement, "-o", str(tmp_path / "b.eln"))
    assert no_license.returncode == 2
    assert "--license is required" in no_license.stderr
    outsider = oidc_login(oidc_provider.issuer, *OUTSIDER)["access_token"]
    refused = _export(
        _env(tmp_path, transfer_catalog.url, outsider),
        "proposal",
        stored["hierarchy"]["proposal"]["id"],
        str(tmp_path / "c.eln"),
    )
    assert refused.returncode == 2, refused.stderr
    assert "not a member of proposal" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not list(tmp_path.glob("*.eln*"))


def test_a_file_far_larger_than_the_memory_used_streams_through(
    transfer_catalog, admin_token, api, client, queue, tmp_path
):
    """Peak RSS of the export process stays far below the file's size: bytes go from the GET
    into the zip entry in chunks, never whole in memory, never copied on disk."""
    size = 300 * MiB
    source = tmp_path / "big.raw"
    digest = hashlib.sha256()
    with open(source, "wb") as handle:
        for _ in range(size // (4 * MiB)):
            block = os.urandom(4 * MiB)
            digest.update(block)
            handle.write(block)
    hierarchy = api.make_hierarchy()
    measurement = _upload(client, queue, hierarchy["experiment"]["id"], [source], convert=False)
    out = tmp_path / "big.eln"
    env = _env(tmp_path, transfer_catalog.url, admin_token)
    # Measured by a small parent of its own: a child forked from pytest (hundreds of MB) would
    # report pytest's pages as its own peak (Linux keeps the high-water mark across exec).
    measured = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK_RSS,
            LAMEFAIR,
            "export",
            "--measurement",
            measurement["id"],
            "-o",
            str(out),
            "--license",
            "CC-BY-4.0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert measured.returncode == 0, measured.stderr
    peak = int(measured.stdout.split()[-1]) * 1024  # kilobytes on Linux
    print(f"peak RSS of the export: {peak / MiB:.0f} MiB for {size / MiB:.0f} MiB")
    assert peak < 150 * MiB, f"peak RSS {peak / MiB:.0f} MiB for a {size / MiB:.0f} MiB file"
    with zipfile.ZipFile(out) as archive:
        entry = next(n for n in archive.namelist() if n.endswith("/big.raw"))
        check = hashlib.sha256()
        with archive.open(entry) as handle:
            while block := handle.read(4 * MiB):
                check.update(block)
    assert check.hexdigest() == digest.hexdigest()
    big_files = [p for p in tmp_path.rglob("*") if p.is_file() and p.stat().st_size > 100 * MiB]
    assert sorted(p.name for p in big_files) == ["big.eln", "big.raw"]  # no copy on the side


def test_a_cancelled_export_keeps_nothing(stored, transfer_catalog, admin_token, tmp_path):
    cancel = threading.Event()
    seen = []

    def report(progress):
        seen.append(progress)
        if progress.bytes_done:
            cancel.set()  # as the dialog's Cancel does, between two chunks

    request = ExportRequest(
        "experiment", stored["hierarchy"]["experiment"]["id"], tmp_path / "c.eln", "CC0-1.0"
    )
    with (
        CatalogClient(transfer_catalog.url, admin_token) as client,
        pytest.raises(ExportCancelled, match="cancelled"),
    ):
        export_crate(client, request, report, cancel)
    assert seen
    assert not list(tmp_path.glob("c.eln*"))  # neither the archive nor its partial file
