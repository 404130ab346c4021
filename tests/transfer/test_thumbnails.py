"""Thumbnails end to end: a converted image's PNG lands beside its NXem in the mirror bucket and
looks like the image (bright where it is bright, no FEI data bar); `lamefair thumbnails --missing`
makes the ones an older conversion never sent."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import numpy as np
import tifffile

from lamefair_desktop.catalog.thumbnails import fetch_thumbnail
from lamefair_desktop.nexus.writer import convert
from lamefair_desktop.transfer.derived import DerivedQueue
from lamefair_desktop.transfer.deriver import Deriver
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from tests.support.png import png_pixels
from tests.transfer.test_cli import _env, _run

FAST = UploadSettings(stable_seconds=0.05, backoff=0.1, max_backoff=1.0, retry_waiting_after=0.5)
ROWS, COLUMNS, BAR = 200, 300, 40


def _fei_with_bright_square(path: Path) -> Path:
    """An FEI xT image: dark noise, a bright square, and a white data bar below the image."""
    image = np.random.default_rng(3).integers(900, 1100, (ROWS, COLUMNS), dtype=np.uint16)
    image[50:100, 100:150] = 12000
    bar = np.full((BAR, COLUMNS), 65535, np.uint16)
    ini = (
        "[User]\r\nDate=11/20/2026\r\nTime=09:30:00 AM\r\n[System]\r\nType=DualBeam\r\n"
        "SystemType=Helios G4 UX\r\n[EBeam]\r\nHV=5000\r\n"
        "[Scan]\r\nPixelWidth=2.5e-09\r\nPixelHeight=2.5e-09\r\nDwelltime=3e-06\r\n"
        f"[Image]\r\nResolutionX={COLUMNS}\r\nResolutionY={ROWS}\r\n"
        f"[PrivateFei]\r\nDatabarHeight={BAR}\r\n"
    )
    tifffile.imwrite(path, np.vstack([image, bar]), extratags=[(34680, "s", 0, ini, True)])
    return path


def _files(api, measurement_id: str) -> dict:
    return {f["path"]: f for f in api.ok(api.get(f"/api/measurements/{measurement_id}"))["files"]}


def test_conversion_puts_a_thumbnail_of_the_image_beside_its_nxem(client, queue, api, tmp_path):
    h = api.make_hierarchy()
    source = _fei_with_bright_square(tmp_path / "square.tif")
    uploader = Uploader(client, queue, FAST)
    measurement = uploader.register(h["experiment"]["id"], [source])
    derived = DerivedQueue(queue.sessions)
    derived.add(client.catalog_key, measurement, "generic")
    deriver = Deriver(client, queue, derived, validate_with_pynx=False)
    assert uploader.run() == {"stored": 1}
    assert deriver.run() == {"stored": 1}
    assert derived.items()[0].error == ""
    deriver.close()
    uploader.close()

    raw = _files(api, measurement["id"])["square.tif"]
    record = raw["derived"][0]
    assert record["thumbnail"] is True
    key = record["key"].removesuffix(".nxs") + ".thumb.png"
    url = api.ok(api.post(f"/api/buckets/{record['bucket']}/presign", {"keys": [key]}))
    png = httpx.get(url["urls"][0]["url"], timeout=30).content
    assert hashlib.sha256(png).hexdigest() == record["thumbnail_sha256"]
    pixels = png_pixels(png)
    # The image's own proportions (200 × 300), not the TIFF's with its bar (240 × 300).
    assert pixels.shape == (round(ROWS * 256 / COLUMNS), 256)
    scale = 256 / COLUMNS
    square = pixels[round(55 * scale) : round(95 * scale), round(105 * scale) : round(145 * scale)]
    assert square.min() > 200  # bright where the image is bright
    assert np.median(pixels[: round(40 * scale)]) < 60  # dark background
    assert np.median(pixels[-10:]) < 60  # the bottom rows are image, not the white data bar

    # The raw bucket's listing points the TIFF at the same picture; a reader gets it by its id.
    listing = api.ok(
        api.get(
            f"/api/buckets/{h['proposal']['raw_bucket']}/objects",
            prefix=raw["key"].rsplit("/", 1)[0],
        )
    )
    assert {o["key"]: o["thumbnail"] for o in listing["objects"]}[raw["key"]] == record["id"]
    with httpx.Client() as s3:
        assert fetch_thumbnail(client, s3, record["id"]) == png


def test_thumbnails_missing_fills_in_what_an_older_conversion_left_out(
    transfer_catalog, admin_token, client, queue, api, tmp_path
):
    h = api.make_hierarchy()
    source = _fei_with_bright_square(tmp_path / "old.tif")
    uploader = Uploader(client, queue, FAST)
    measurement = uploader.register(h["experiment"]["id"], [source])
    assert uploader.run() == {"stored": 1}
    uploader.close()
    # Stored as a converter from before thumbnails did: the NXem alone.
    nxs = tmp_path / "old.nxs"
    convert(source, nxs)
    file_id = _files(api, measurement["id"])["old.tif"]["id"]
    body = nxs.read_bytes()
    plan = client.start_derived(file_id, len(body), hashlib.sha256(body).hexdigest(), True, "")
    assert httpx.put(plan["url"], content=body, headers=plan["headers"]).status_code == 200
    assert client.complete_derived(plan["id"])["thumbnail"] is False

    env = _env(tmp_path, LAMEFAIR_SERVER=transfer_catalog.url, LAMEFAIR_TOKEN=admin_token)
    number = h["proposal"]["number"]
    no_mode = _run(env, "thumbnails")
    assert no_mode.returncode == 2
    assert "--missing" in no_mode.stderr
    unknown = _run(env, "thumbnails", "--missing", "--proposal", "no-such-proposal")
    assert unknown.returncode == 2
    assert "no proposal 'no-such-proposal'" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    filled = _run(env, "thumbnails", "--missing", "--proposal", number)
    assert filled.returncode == 0, filled.stderr
    assert "old.nxs: thumbnail stored" in filled.stdout
    assert "1 thumbnail(s) made, 0 failed" in filled.stdout
    record = _files(api, measurement["id"])["old.tif"]["derived"][0]
    assert record["thumbnail"] is True
    with httpx.Client() as s3:
        pixels = png_pixels(fetch_thumbnail(client, s3, record["id"]))
    assert pixels.max() > 200
    assert np.median(pixels) < 60

    again = _run(env, "thumbnails", "--missing", "--proposal", number)
    assert again.returncode == 0
    assert "nothing to do" in again.stdout
