"""After upload: each stored TIFF becomes NXem, is judged by the FAIRmat validator and lands in the
proposal's mirror bucket, through the real catalog and SeaweedFS."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import h5py
import httpx

from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.deriver import Deriver
from lamefair_desktop.transfer.upload import Uploader, UploadSettings

FAST = UploadSettings(stable_seconds=0.05, backoff=0.1, max_backoff=1.0, retry_waiting_after=0.5)


def _upload(client, queue, experiment, inputs, pair="generic"):
    uploader = Uploader(client, queue, FAST)
    measurement = uploader.register(experiment["id"], inputs, instrument_pair=pair)
    derived = DerivedQueue(queue.sessions)
    derived.add(client.catalog_key, measurement, pair)
    return uploader, derived, measurement


def test_stored_tiffs_become_valid_nxem_in_the_mirror_bucket(
    client, queue, api, tmp_path, corpus_tiff_dir
):
    hierarchy = api.make_hierarchy()
    folder = tmp_path / "grid-3"
    folder.mkdir()
    shutil.copy(corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif", folder / "overview.tif")
    (folder / "notes.txt").write_text("spot 3, 5 kV")
    uploader, derived, measurement = _upload(client, queue, hierarchy["experiment"], [folder])
    announced = []
    deriver = Deriver(client, queue, derived, converted=announced.append)

    # Nothing is converted before the raw file is stored.
    assert deriver.run() == {"waiting": 1}
    assert uploader.run() == {"stored": 2}
    assert deriver.run() == {"stored": 1}

    job = derived.items()[0]
    assert job.rel_path == "grid-3/overview.tif"
    assert (job.validator, job.valid) == ("pynxtools", True)
    assert "FAIRmat validator (pynxtools" in job.report
    assert announced[0].measurement_id == measurement["id"]
    assert (announced[0].files, announced[0].valid, announced[0].problems) == (2, 1, 0)

    files = {
        f["path"]: f for f in api.ok(api.get(f"/api/measurements/{measurement['id']}"))["files"]
    }
    assert files["grid-3/notes.txt"]["derived"] == []
    record = files["grid-3/overview.tif"]["derived"][0]
    assert record["bucket"] == hierarchy["proposal"]["mirror_bucket"]
    assert record["key"].endswith("grid-3/overview.nxs")
    assert (record["state"], record["valid"]) == ("stored", True)
    listing = api.ok(
        api.get(f"/api/buckets/{record['bucket']}/objects", prefix=record["key"].rsplit("/", 1)[0])
    )
    url = api.ok(api.post(f"/api/buckets/{record['bucket']}/presign", {"keys": [record["key"]]}))
    body = httpx.get(url["urls"][0]["url"], timeout=60).content
    assert hashlib.sha256(body).hexdigest() == record["sha256"]
    assert body[:8] == b"\x89HDF\r\n\x1a\n"
    assert any(o["key"] == record["key"] for o in listing["objects"])
    # A second run has nothing left to do: the derived file is never sent twice.
    assert deriver.run() == {"stored": 1}
    deriver.close()
    uploader.close()


def test_a_source_changed_after_upload_is_not_converted_and_says_why(
    client, queue, api, tmp_path, corpus_tiff_dir
):
    hierarchy = api.make_hierarchy()
    source = tmp_path / "zeiss.tif"
    shutil.copy(corpus_tiff_dir / "test_tiff_Zeiss_SEM_512pix.tif", source)
    uploader, derived, _ = _upload(client, queue, hierarchy["experiment"], [source])
    assert uploader.run() == {"stored": 1}
    with source.open("r+b") as handle:  # the acquisition software rewrote it
        handle.seek(-10, 2)
        handle.write(b"0123456789")
    announced = []
    deriver = Deriver(client, queue, derived, converted=announced.append)
    assert deriver.run() == {"failed": 1}
    job = derived.items()[0]
    assert "changed after it was uploaded" in job.error
    assert "lamefair convert" in job.error
    assert (announced[0].valid, announced[0].problems) == (0, 1)
    deriver.close()
    uploader.close()


def test_a_broken_tiff_fails_alone_and_the_measurement_still_finishes(
    client, queue, api, tmp_path, corpus_tiff_dir
):
    hierarchy = api.make_hierarchy()
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "truncated.tif").write_bytes(b"II*\x00" + b"\x00" * 200)
    shutil.copy(corpus_tiff_dir / "test_loading_image_saved_with_DM.tif", folder / "dm.tif")
    uploader, derived, _ = _upload(client, queue, hierarchy["experiment"], [folder])
    assert uploader.run() == {"stored": 2}
    deriver = Deriver(client, queue, derived)
    assert deriver.run() == {"failed": 1, "stored": 1}
    failed = next(j for j in derived.items() if j.state == "failed")
    assert "truncated.tif" in failed.error
    assert failed.verdict == "conversion failed"
    # The operator fixes nothing in the file, asks again: it fails again, cleanly.
    derived.retry(failed.file_id)
    assert derived.get(failed.file_id).state == "waiting"
    assert deriver.run() == {"failed": 1, "stored": 1}
    deriver.close()
    uploader.close()


def test_offline_conversions_wait_and_go_when_the_catalog_returns(
    proxied_client, catalog_proxy, queue, api, tmp_path, corpus_tiff_dir
):
    hierarchy = api.make_hierarchy()
    source = tmp_path / "tvips.tif"
    shutil.copy(corpus_tiff_dir / "TVIPS_bin4.tif", source)
    uploader, derived, _ = _upload(
        proxied_client, queue, hierarchy["experiment"], [source], "TEM_JEOL_F200_TVIPS"
    )
    assert uploader.run() == {"stored": 1}
    deriver = Deriver(proxied_client, queue, derived, validate_with_pynx=False)
    catalog_proxy.cut()
    assert deriver.run() == {"offline": 1}
    assert "Cannot reach the catalog" in derived.items()[0].error
    catalog_proxy.restore()
    assert deriver.run() == {"stored": 1}
    job = derived.items()[0]
    assert (job.validator, job.valid) == ("lamefair", True)
    deriver.close()
    uploader.close()


def test_same_names_in_subfolders_get_their_own_nxem(client, queue, api, tmp_path, corpus_tiff_dir):
    hierarchy = api.make_hierarchy()
    folder = tmp_path / "grids"
    for grid in ("grid1", "grid2"):
        (folder / grid).mkdir(parents=True)
        shutil.copy(
            corpus_tiff_dir / "test_loading_image_saved_with_DM.tif", folder / grid / "a.tif"
        )
    (folder / "grid2" / "a.tif").open("ab").write(b"\0")  # different bytes, same name
    uploader, derived, _ = _upload(client, queue, hierarchy["experiment"], [folder])
    assert uploader.run() == {"stored": 2}
    deriver = Deriver(client, queue, derived, validate_with_pynx=False)
    assert deriver.run() == {"stored": 2}
    outputs = {job.rel_path: job.output for job in derived.items()}
    assert outputs["grids/grid1/a.tif"] != outputs["grids/grid2/a.tif"]
    assert outputs["grids/grid1/a.tif"].endswith("grids/grid1/a.tif.nxs")
    deriver.close()
    uploader.close()


def test_an_uploaded_dm4_is_converted_like_a_tiff(
    client, queue, api, tmp_path, corpus_tiff_dir, s3_client
):
    """A DigitalMicrograph file (no TIFF) uploaded gets its NXem too, judged valid; beside a TIFF
    of the same name (a common export) each keeps its own NXem, here and in the mirror bucket."""
    import numpy as np

    from tests.support.dm_writer import dm_file_tags, image_tags, write_dm

    hierarchy = api.make_hierarchy()
    folder = tmp_path / "tem"
    folder.mkdir()
    pixels = np.arange(32 * 48, dtype=np.int16).reshape(32, 48)
    write_dm(folder / "hrtem.dm4", dm_file_tags(image_tags(pixels, scale=0.1, unit="nm")), 4)
    shutil.copy(corpus_tiff_dir / "test_loading_image_saved_with_DM.tif", folder / "hrtem.tif")
    uploader, derived, _ = _upload(client, queue, hierarchy["experiment"], [folder])
    assert sorted(job.rel_path for job in derived.items()) == ["tem/hrtem.dm4", "tem/hrtem.tif"]
    assert uploader.run() == {"stored": 2}
    deriver = Deriver(client, queue, derived)
    assert deriver.run() == {"stored": 2}
    jobs = derived.items()
    for job in jobs:
        assert (job.validator, job.valid) == ("pynxtools", True), job.report
    assert len({job.output for job in jobs}) == 2
    stored = {}
    for job in jobs:
        record = client.get_file(job.file_id)["derived"][0]
        body = s3_client.get_object(Bucket=record["bucket"], Key=record["key"])["Body"].read()
        stored[record["key"]] = body
        assert body == Path(job.output).read_bytes(), job.rel_path
    assert len(stored) == 2
    deriver.close()
    uploader.close()


def test_the_uploaded_sha256_is_recorded_and_a_rewrite_with_its_mtime_put_back_is_caught(
    client, queue, api, tmp_path, corpus_tiff_dir
):
    """The NXem records the SHA-256 the upload computed (conversion need not hash the file
    again), but only while the file is provably as it was sent: a same-size rewrite whose mtime
    is put back fails the job instead of recording the upload's SHA-256 for other bytes."""
    hierarchy = api.make_hierarchy()
    folder = tmp_path / "session"
    folder.mkdir()
    kept, rewritten = folder / "kept.tif", folder / "rewritten.tif"
    for path in (kept, rewritten):  # written, not copied: a copy's chmod moves the ctime
        path.write_bytes((corpus_tiff_dir / "test_tiff_Zeiss_SEM_512pix.tif").read_bytes())
    uploader, derived, measurement = _upload(client, queue, hierarchy["experiment"], [folder])
    assert uploader.run() == {"stored": 2}
    before = rewritten.stat()
    with rewritten.open("r+b") as handle:
        handle.seek(-10, 2)
        handle.write(b"0123456789")
    os.utime(rewritten, ns=(before.st_atime_ns, before.st_mtime_ns))
    deriver = Deriver(client, queue, derived)
    assert deriver.run() == {"stored": 1, "failed": 1}
    jobs = {Path(job.rel_path).name: job for job in derived.items()}
    assert "changed after it was uploaded" in jobs["rewritten.tif"].error
    stored = {
        f["path"]: f for f in api.ok(api.get(f"/api/measurements/{measurement['id']}"))["files"]
    }
    uploaded = stored[jobs["kept.tif"].rel_path]["sha256"]
    assert uploaded == hashlib.sha256(kept.read_bytes()).hexdigest()
    with h5py.File(jobs["kept.tif"].output) as nxem:
        assert nxem["entry1/source_file/checksum"][()].decode() == uploaded
    deriver.close()
    uploader.close()
