"""Every kind of image a microscope writes becomes strictly valid NXem, with the vendor's scale.

Synthetic files carry vendor-like tags (FEI xT's INI text in tag 34682/34680, ImageJ's
description); each is converted with the catalog context and validated in one batch.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile

from lamefair_desktop.nexus.preview import open_preview
from lamefair_desktop.nexus.validate import fairmat_installed
from lamefair_desktop.nexus.writer import convert
from tests.nexus.strict import validate_strictly
from tests.support.components import unavailable

IMAGE = "entry1/measurement/event1/image1"
SCAN = "entry1/measurement/event1/instrument/ebeam_column/scan_controller"
RGB = np.random.default_rng(7).integers(0, 256, (48, 64, 3), dtype=np.uint8)
BSE = np.random.default_rng(9).integers(0, 4096, (32, 40), dtype=np.uint16)
RGBA16 = np.random.default_rng(8).integers(0, 65536, (40, 50, 4), dtype=np.uint16)


def _fei_ini(*sections: str) -> str:
    head = (
        "[User]\r\nDate=11/20/2026\r\nTime=09:30:00 AM\r\n"
        "[System]\r\nType=DualBeam\r\nSystemType=Helios G4 UX\r\nSource=FEG\r\n"
        "Software=11.2.0\r\n[EBeam]\r\nHV=5000\r\n"
    )
    return head + "".join(sections)


def _fei(path: Path, data: np.ndarray, ini: str, tag: int = 34682) -> Path:
    tifffile.imwrite(path, data, extratags=[(tag, "s", 0, ini, True)])
    return path


def _scan(width: str, height: str, dwell: str | None = "3e-06") -> str:
    dwell_line = f"Dwelltime={dwell}\r\n" if dwell else ""
    return f"[Scan]\r\nPixelWidth={width}\r\nPixelHeight={height}\r\n{dwell_line}"


def _png_pixels(png: bytes) -> np.ndarray:
    """Decode the grey 16-bit PNG the converter writes (filter 0 on every row)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert (depth, colour) == (16, 0)
    idat = png.index(b"IDAT")
    length = struct.unpack(">I", png[idat - 4 : idat])[0]
    raw = np.frombuffer(zlib.decompress(png[idat + 4 : idat + 4 + length]), np.uint8)
    rows = raw.reshape(height, 1 + 2 * width)[:, 1:]
    return rows.copy().view(">u2").reshape(height, width).astype(np.uint16)


@pytest.fixture(scope="module")
def kinds(tmp_path_factory, corpus_tiff_dir) -> dict:
    """Every kind written, converted with the catalog context and validated strictly, once."""
    if not fairmat_installed():
        unavailable("FAIRmat validator", "pynx (pynxtools, test extra) is not installed")
    from tests.nexus.conftest import CONTEXT

    folder = tmp_path_factory.mktemp("kinds")
    grey = np.arange(64 * 80, dtype=np.uint16).reshape(64, 80)
    bar = np.full((12, 80), 65535, np.uint16)
    sources = {
        # A dual-beam's navigation camera: pixel size, but no dwell time (no scanned beam).
        "navcam": _fei(
            folder / "navcam.tif",
            grey.astype(np.uint8),
            _fei_ini(_scan("2e-05", "2e-05", dwell=None)),
        ),
        # An SEM image with a 12-row data bar below it (TIFF height = image rows + bar rows).
        "databar": _fei(
            folder / "databar.tif",
            np.vstack([grey, bar]),
            _fei_ini(
                _scan("2.5e-09", "2.5e-09"),
                "[Image]\r\nResolutionX=80\r\nResolutionY=64\r\n",
                "[PrivateFei]\r\nDatabarHeight=12\r\n",
            ),
            tag=34680,
        ),
        "corpus-fei": corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif",
        "corpus-zeiss": corpus_tiff_dir / "test_tiff_Zeiss_SEM_512pix.tif",
        "thumbnail": folder / "thumbnail.tif",
        "optical": folder / "optical.tif",
        "rgba16": folder / "rgba16.tif",
        "rgb-stack": folder / "rgb-stack.tif",
        "dm-stack": folder / "dm-stack.tif",
        "detectors": folder / "detectors.tif",
    }
    for name, value in (("zero", "0"), ("nan", "nan"), ("negative", "-2.5e-09"), ("inf", "inf")):
        sources[f"broken-{name}"] = _fei(
            folder / f"broken-{name}.tif",
            grey,
            _fei_ini(_scan(value, value), "[EBeam]\r\nHFW=0\r\n"),
        )
    # Finite, but the axis would overflow to infinity.
    sources["broken-huge"] = _fei(
        folder / "broken-huge.tif", grey, _fei_ini(_scan("1e308", "1e308"))
    )
    with tifffile.TiffWriter(sources["thumbnail"]) as writer:
        writer.write(grey)
        writer.write(grey[::4, ::4].copy(), subfiletype=1)  # reduced-resolution copy
    # An optical micrograph saved by ImageJ with its scale (0.5 micron per pixel).
    tifffile.imwrite(
        sources["optical"],
        RGB,
        imagej=True,
        photometric="rgb",
        resolution=(1 / 0.5, 1 / 0.5),
        metadata={"unit": "micron"},
    )
    # An EDS map exported as 16-bit RGBA, no scale.
    tifffile.imwrite(sources["rgba16"], RGBA16, photometric="rgb", extrasamples=["unassalpha"])
    with tifffile.TiffWriter(sources["rgb-stack"]) as writer:
        for index in range(3):
            writer.write(np.roll(RGB, index, axis=0), photometric="rgb")

    # A DigitalMicrograph export of a 4-frame stack: its scale tags (0.25 nm per pixel).
    dm_tags = [(65003, "s", 0, "nm", True), (65004, "s", 0, "nm", True)]
    dm_tags += [(65009, "d", 1, 0.25, True), (65010, "d", 1, 0.25, True)]
    with tifffile.TiffWriter(sources["dm-stack"]) as writer:
        for index in range(4):
            writer.write(np.full((32, 40), index, np.int32), extratags=dm_tags)

    # Two detectors recorded together (SE 80x64 at 2.5 nm, BSE 40x32 at 5 nm, each page with its
    # own xT header), then a thumbnail page.
    with tifffile.TiffWriter(sources["detectors"]) as writer:
        for pixels, pitch in ((grey, "2.5e-09"), (BSE, "5e-09")):
            ini = _fei_ini(_scan(pitch, pitch))
            writer.write(pixels, extratags=[(34682, "s", 0, ini, True)])
        writer.write(grey[::4, ::4].copy(), subfiletype=1)

    outputs, refused = {}, {}
    for name, source in sources.items():
        try:
            outputs[name] = convert(source, folder / f"{name}.nxs", context=CONTEXT).output
        except Exception as exc:  # noqa: BLE001 - each kind's test reports its own refusal
            refused[name] = f"{exc.__class__.__name__}: {exc}"
    verdicts = validate_strictly(list(outputs.values())) if outputs else {}
    return {"sources": sources, "outputs": outputs, "refused": refused, "verdicts": verdicts}


def _output(kinds: dict, name: str) -> Path:
    if name in kinds["refused"]:
        pytest.fail(f"{name} was not converted: {kinds['refused'][name]}")
    return kinds["outputs"][name]


def test_every_kind_is_converted_to_strictly_valid_nxem(kinds):
    assert kinds["refused"] == {}
    invalid = {name: problems for name, (valid, problems) in kinds["verdicts"].items() if not valid}
    assert invalid == {}


def test_camera_image_has_no_scan_controller_and_keeps_its_scale(kinds):
    with h5py.File(_output(kinds, "navcam")) as handle:
        assert SCAN not in handle
        axis = handle[f"{IMAGE}/image_2d/axis_i"]
        assert axis.attrs["units"] == "m"
        assert axis[1] - axis[0] == pytest.approx(2e-5, rel=2e-3)
    with h5py.File(_output(kinds, "databar")) as handle:  # a scanned image keeps its dwell
        assert handle[f"{SCAN}/dwell_time"][()] == pytest.approx(3e-6)


def test_fei_data_bar_is_cut_from_the_image_and_kept_apart(kinds):
    with h5py.File(_output(kinds, "databar")) as handle:
        data = handle[f"{IMAGE}/image_2d"]
        assert data["real"].shape == (64, 80)
        np.testing.assert_array_equal(
            data["real"][()], np.arange(64 * 80, dtype=np.uint16).reshape(64, 80)
        )
        assert len(data["axis_j"]) == 64
        assert data["axis_j"][1] == pytest.approx(2.5e-9, rel=2e-3)
        note = handle["entry1/databar"]
        assert note["type"][()].decode() == "image/png"
        np.testing.assert_array_equal(_png_pixels(bytes(note["data"][()])), 65535)
        assert _png_pixels(bytes(note["data"][()])).shape == (12, 80)
        context = handle[f"{IMAGE}/process/input/context"][()].decode()
        assert "data bar" in context
    with h5py.File(_output(kinds, "corpus-fei")) as handle:  # 471 rows: 442 image + 29 bar
        assert handle[f"{IMAGE}/image_2d/real"].shape == (442, 512)
        assert _png_pixels(bytes(handle["entry1/databar/data"][()])).shape == (29, 512)


@pytest.mark.parametrize("name", ["zero", "nan", "negative", "inf", "huge"])
def test_broken_calibration_gives_pixel_axes_and_says_why(kinds, name):
    with h5py.File(_output(kinds, f"broken-{name}")) as handle:
        data = handle[f"{IMAGE}/image_2d"]
        for axis in ("axis_i", "axis_j"):
            assert data[axis].attrs["units"] == "px"
            np.testing.assert_array_equal(data[axis][:3], [0, 1, 2])
        note = handle[f"{IMAGE}/process/calibration/description"][()].decode()
        assert note.startswith("Axes in pixels")
        assert "PixelWidth" in note


def test_colour_images_keep_every_channel_and_their_scale(kinds):
    with h5py.File(_output(kinds, "optical")) as handle:
        data = handle[f"{IMAGE}/image_3d"]
        assert list(data.attrs["axes"]) == ["axis_k", "axis_j", "axis_i"]
        np.testing.assert_array_equal(np.moveaxis(data["real"][()], 0, -1), RGB)
        assert data["axis_k"].attrs["long_name"].startswith("colour channel (0 red")
        assert data["axis_i"].attrs["units"] == "m"
        assert data["axis_i"][1] == pytest.approx(0.5e-6, rel=2e-3)
    with h5py.File(_output(kinds, "rgba16")) as handle:
        data = handle[f"{IMAGE}/image_3d"]
        assert data["real"].dtype == np.uint16
        np.testing.assert_array_equal(np.moveaxis(data["real"][()], 0, -1), RGBA16)
        assert "3 alpha" in data["axis_k"].attrs["long_name"]
        assert data["axis_i"].attrs["units"] == "px"
        note = handle[f"{IMAGE}/process/calibration/description"][()].decode()
        assert "states no pixel size" in note
    with h5py.File(_output(kinds, "rgb-stack")) as handle:
        data = handle[f"{IMAGE}/stack_3d"]
        assert data["real"].shape == (3, 3, 48, 64)
        np.testing.assert_array_equal(np.moveaxis(data["real"][2], 0, -1), np.roll(RGB, 2, 0))


def test_colour_preview_shows_the_same_pixels_from_tiff_and_nexus(kinds):
    with (
        open_preview(kinds["sources"]["optical"]) as tiff_view,
        open_preview(_output(kinds, "optical")) as nexus_view,
    ):
        assert tiff_view.info.channels == nexus_view.info.channels == 3
        assert nexus_view.info.frames == 1
        np.testing.assert_array_equal(tiff_view.frame(0), RGB)
        np.testing.assert_array_equal(nexus_view.frame(0), RGB)
        _, x, value = nexus_view.value_at(0, 5, 7)
        assert x == pytest.approx(7 * 0.5e-6, rel=2e-3)
        assert value == tuple(float(v) for v in RGB[5, 7])


def test_thumbnail_page_is_not_mistaken_for_the_image(kinds):
    with h5py.File(_output(kinds, "thumbnail")) as handle:
        assert handle[f"{IMAGE}/image_2d/real"].shape == (64, 80)
        context = handle[f"{IMAGE}/process/input/context"][()].decode()
        assert "page 2" in context
        assert "not converted" in context


def test_palette_image_keeps_its_indices_and_records_the_palette(kinds):
    source = kinds["sources"]["corpus-zeiss"]
    with tifffile.TiffFile(source) as tif, h5py.File(_output(kinds, "corpus-zeiss")) as handle:
        palette = tif.pages.first.colormap
        np.testing.assert_array_equal(
            handle[f"{IMAGE}/image_2d/real"][()], tif.pages.first.asarray()
        )
        note = handle[f"{IMAGE}/process/palette"]
        recorded = json.loads(note["data"][()])
        np.testing.assert_array_equal([recorded[c] for c in ("red", "green", "blue")], palette)
        assert "26 of its entries are colours" in note["description"][()].decode()


def test_digital_micrograph_stack_keeps_every_frame_and_its_scale(kinds):
    with h5py.File(_output(kinds, "dm-stack")) as handle:
        data = handle[f"{IMAGE}/stack_2d"]
        assert data["real"].shape == (4, 32, 40)
        assert data["real"][3, 0, 0] == 3
        assert data["axis_i"].attrs["units"] == "m"
        assert data["axis_i"][1] == pytest.approx(0.25e-9, rel=2e-3)


def test_each_detector_page_becomes_an_image_with_its_own_scale(kinds):
    with h5py.File(_output(kinds, "detectors")) as handle:
        event = handle["entry1/measurement/event1"]
        assert sorted(name for name in event if name.startswith("image")) == ["image1", "image2"]
        first, second = event["image1/image_2d"], event["image2/image_2d"]
        np.testing.assert_array_equal(
            first["real"][()], np.arange(64 * 80, dtype=np.uint16).reshape(64, 80)
        )
        np.testing.assert_array_equal(second["real"][()], BSE)
        assert first["axis_i"][1] == pytest.approx(2.5e-9, rel=2e-3)
        assert second["axis_i"][1] == pytest.approx(5e-9, rel=2e-3)
        assert "page 2" in second["title"][()].decode()
        context = event["image1/process/input/context"][()].decode()
        assert "converted as image2" in context
        assert "page 3 (16x20, thumbnail): skipped" in context
