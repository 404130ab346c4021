"""The catalog judges every stored derived file with the FAIRmat validator itself, because the
packaged desktop only runs the structural check; the desktop then shows the catalog's verdict.

Real stack: SeaweedFS, the catalog process (with pynxtools installed, as the test extra has it),
the real validator in the catalog's child process. The desktop side runs as a packaged one does:
structural check only (`validate_with_pynx=False`).
"""

from __future__ import annotations

import re
import shutil
import time

import h5py

from lamefair_desktop.catalog.sync import Sync
from lamefair_desktop.transfer import deriver as deriver_module
from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.deriver import Deriver
from lamefair_desktop.transfer.upload import Uploader, UploadSettings

FAST = UploadSettings(stable_seconds=0.05, backoff=0.1, max_backoff=1.0, retry_waiting_after=0.5)
VERDICT_WAIT = 40  # seconds: one validator child starts in ~3 s; the catalog's queue is serial


def _convert_one(client, queue, api, tmp_path, source):
    hierarchy = api.make_hierarchy()
    path = tmp_path / source.name
    shutil.copy(source, path)
    uploader = Uploader(client, queue, FAST)
    measurement = uploader.register(hierarchy["experiment"]["id"], [path])
    derived = DerivedQueue(queue.sessions)
    derived.add(client.catalog_key, measurement, "generic")
    assert uploader.run() == {"stored": 1}
    uploader.close()
    deriver = Deriver(client, queue, derived, validate_with_pynx=False)  # a microscope PC
    assert deriver.run() == {"stored": 1}
    deriver.close()
    return derived, derived.items()[0], measurement


def _server_record(api, measurement_id: str) -> dict:
    """The derived file's record once the catalog has judged it (bounded wait)."""
    deadline = time.monotonic() + VERDICT_WAIT
    while True:
        files = api.ok(api.get(f"/api/measurements/{measurement_id}"))["files"]
        record = files[0]["derived"][0]
        if record["server_checked_at"] is not None:
            return record
        assert time.monotonic() < deadline, f"no catalog verdict within {VERDICT_WAIT} s: {record}"
        time.sleep(0.5)


def test_the_catalog_judges_with_fairmat_and_the_desktop_shows_its_verdict(
    client, queue, api, tmp_path, corpus_tiff_dir
):
    derived, job, measurement = _convert_one(
        client, queue, api, tmp_path, corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif"
    )
    # On the microscope PC only the structural check ran, and the cell says so.
    assert (job.validator, job.valid) == ("lamefair", True)
    assert job.verdict == "structure complete (structural check only)"

    record = _server_record(api, measurement["id"])
    assert record["server_valid"] is True
    assert re.fullmatch(r"pynxtools \d+\.\d+.*", record["server_validator"])
    assert "Checked by the catalog with the FAIRmat validator" in record["server_report"]
    assert record["valid"] is True  # the uploader's own claim is kept beside it

    # The change feed carries it, so the desktop's cache learns it without asking per file.
    changes = api.ok(api.get("/api/changes", since=0, limit=1000))["changes"]
    assert any(
        c["entity"] == "derived"
        and c["data"]["server_valid"] is True
        and c["data"]["id"] == record["id"]
        for c in changes
    )
    Sync(client, queue.sessions).pull()
    job = derived.get(job.file_id)
    assert job.server_valid is True
    assert job.verdict == "valid NXem (FAIRmat, checked by the catalog)"
    assert job.full_report.startswith("Checked by the catalog")


def test_a_required_field_missing_is_refused_by_the_catalog_though_the_structure_passed(
    client, queue, api, tmp_path, corpus_tiff_dir, monkeypatch
):
    real_convert = deriver_module.convert

    def convert_then_spoil(source, output, **kwargs):
        result = real_convert(source, output, **kwargs)
        with h5py.File(output, "r+") as handle:
            # Required by NXem once an instrument is described; the structural check never looks.
            del handle["entry1/measurement/instrument/fabrication"]
        return result

    monkeypatch.setattr(deriver_module, "convert", convert_then_spoil)
    derived, job, measurement = _convert_one(
        client, queue, api, tmp_path, corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif"
    )
    assert job.verdict == "structure complete (structural check only)"

    record = _server_record(api, measurement["id"])
    assert record["server_valid"] is False
    assert "NOT valid NXem" in record["server_report"]
    assert "fabrication" in record["server_report"]

    Sync(client, queue.sessions).pull()
    job = derived.get(job.file_id)
    assert job.verdict == "stored, NOT valid (FAIRmat, checked by the catalog)"
    assert job.judged_valid is False


def test_a_verdict_on_bytes_converted_before_a_local_reconversion_is_not_shown(
    client, queue, api, tmp_path, corpus_tiff_dir, monkeypatch
):
    real_convert = deriver_module.convert

    def convert_then_spoil(source, output, **kwargs):
        result = real_convert(source, output, **kwargs)
        with h5py.File(output, "r+") as handle:
            del handle["entry1/measurement/instrument/fabrication"]
        return result

    monkeypatch.setattr(deriver_module, "convert", convert_then_spoil)
    derived, job, measurement = _convert_one(
        client, queue, api, tmp_path, corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif"
    )
    old = _server_record(api, measurement["id"])
    assert old["server_valid"] is False  # the catalog judged the first, spoiled, bytes

    # Converted again here before the change feed brought that verdict (the conversion is fixed).
    monkeypatch.setattr(deriver_module, "convert", real_convert)
    derived.update(job.file_id, state="waiting")
    deriver = Deriver(client, queue, derived, validate_with_pynx=False)
    assert deriver.run() == {"stored": 1}
    deriver.close()
    assert derived.get(job.file_id).output_sha256 != old["sha256"]

    # The feed now holds the old verdict (and maybe, by now, the one on the new bytes).
    Sync(client, queue.sessions).pull()
    job = derived.get(job.file_id)
    assert job.server_valid is not False
    assert job.verdict != "stored, NOT valid (FAIRmat, checked by the catalog)"
    # The same record, delivered late on its own, is still not taken for the new file.
    assert derived.learn_server_verdict(old) is None
    assert derived.get(job.file_id).server_valid is not False
