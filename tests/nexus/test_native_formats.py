"""Gatan DigitalMicrograph (.dm3, .dm4) and Velox EMD (.emd) files become strictly valid NXem with
the vendor's calibration, through the same paths as TIFFs (convert, inspect, preview).

No real files of these formats are shared, so the tests write them: DM files with a small writer
of the documented tag format (tests/support/dm_writer.py), Velox files with h5py in Velox's layout
(tests/support/velox_writer.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from lamefair_desktop.nexus.errors import SourceReadError
from lamefair_desktop.nexus.preview import open_preview
from lamefair_desktop.nexus.validate import fairmat_installed
from lamefair_desktop.nexus.writer import anticipate, convert
from tests.nexus.strict import validate_strictly
from tests.support.components import unavailable
from tests.support.dm_writer import dm_file_tags, image_tags, write_dm
from tests.support.velox_writer import velox_metadata, write_velox

EVENT = "entry1/measurement/event1"
INSTRUMENT = "entry1/measurement/instrument"
LAMEFAIR = str(Path(sys.executable).parent / "lamefair")
STACK = np.arange(5 * 30 * 40, dtype=np.uint16).reshape(5, 30, 40)
FRAME = np.random.default_rng(3).normal(100, 10, (48, 64)).astype(np.float32)
HAADF = np.arange(48 * 64, dtype=np.uint16).reshape(48, 64)
RGB = np.random.default_rng(5).integers(0, 256, (24, 32, 3), dtype=np.uint8)
DPC = np.zeros((48, 64), [("realFloat", "<f4"), ("imagFloat", "<f4")])  # Velox's complex images
DF_STACK = np.arange(3 * 48 * 64, dtype=np.int32).reshape(3, 48, 64)
MICROSCOPE = {
    "Microscope Info": {
        "Voltage": 300000.0,
        "Microscope": "Titan 80-300",
        "Indicated Magnification": 380000.0,
        "Operation Mode": "TEM",
    },
    "Acquisition": {"Device": {"Name": "OneView"}},
    "DataBar": {"Acquisition Date": "7/14/2026", "Acquisition Time": "3:05:09 PM"},
    "GMS Version": {"Created": "3.50.3584.0"},
}


def _require_reader() -> None:
    try:
        import rsciio  # noqa: F401
    except ImportError:
        unavailable("rosettasciio", "the tem-formats extra is not installed")


def write_sources(folder: Path) -> dict[str, Path]:
    """A DM3 stack (0.25 nm/px), a DM4 image in 1/nm (a diffraction pattern) with the microscope's
    tags, and a Velox file with a HAADF image and a DF4 stack (0.12 nm/px)."""
    stack = image_tags(STACK, scale=0.25, unit="nm", name="drift series", frame_unit="s")
    pattern = image_tags(FRAME, scale=0.0125, unit="1/nm", name="SAED", tags=MICROSCOPE)
    return {
        "dm3-stack": write_dm(folder / "series.dm3", dm_file_tags(stack), version=3),
        "dm4-diffraction": write_dm(folder / "saed.dm4", dm_file_tags(pattern), version=4),
        "dm3-rgb": write_dm(
            folder / "colour.dm3", dm_file_tags(image_tags(RGB, scale=0.5, unit="µm")), version=3
        ),
        "velox": write_velox(
            folder / "haadf.emd",
            [
                (HAADF, velox_metadata(pixel=1.2e-10, detector="HAADF")),
                (DF_STACK, velox_metadata(pixel=1.2e-10, detector="DF4")),
            ],
        ),
        "velox-si": write_velox(
            folder / "eds-map.emd",
            [
                (HAADF, velox_metadata(pixel=5e-10, detector="HAADF")),
                (DPC, velox_metadata(pixel=5e-10, detector="DPC")),
            ],
            spectrum_image=True,
        ),
    }


@pytest.fixture(scope="module")
def native(tmp_path_factory) -> dict:
    """Each file converted with the catalog context and validated strictly, once."""
    _require_reader()
    if not fairmat_installed():
        unavailable("FAIRmat validator", "pynx (pynxtools, test extra) is not installed")
    from tests.nexus.conftest import CONTEXT

    folder = tmp_path_factory.mktemp("native")
    sources = write_sources(folder)
    outputs, refused = {}, {}
    for name, source in sources.items():
        try:
            outputs[name] = convert(source, folder / f"{name}.nxs", context=CONTEXT)
        except Exception as exc:  # noqa: BLE001 - each test reports the refusal
            refused[name] = f"{exc.__class__.__name__}: {exc}"
    paths = [result.output for result in outputs.values()]
    verdicts = validate_strictly(paths) if paths else {}
    return {"sources": sources, "results": outputs, "refused": refused, "verdicts": verdicts}


def _output(native: dict, name: str) -> Path:
    if name in native["refused"]:
        pytest.fail(f"{name} was not converted: {native['refused'][name]}")
    return native["results"][name].output


def _text(node) -> str:
    value = node[()]
    return value.decode() if isinstance(value, bytes) else str(value)


def test_dm_and_velox_files_convert_to_strictly_valid_nxem(native):
    assert native["refused"] == {}
    invalid = {
        name: problems for name, (valid, problems) in native["verdicts"].items() if not valid
    }
    assert invalid == {}


def test_dm3_stack_keeps_every_frame_and_its_calibration(native):
    with h5py.File(_output(native, "dm3-stack")) as handle:
        data = handle[f"{EVENT}/image1/stack_2d"]
        np.testing.assert_array_equal(data["real"][()], STACK)
        for axis in ("axis_i", "axis_j"):
            assert data[axis].attrs["units"] == "m"
            assert data[axis][1] - data[axis][0] == pytest.approx(0.25e-9, rel=2e-3)
        assert _text(handle["entry1/source_file/description"]) == (
            "Gatan DigitalMicrograph DM3 file"
        )


def test_dm_rgb_image_keeps_its_colours_and_scale(native):
    with h5py.File(_output(native, "dm3-rgb")) as handle:
        data = handle[f"{EVENT}/image1/image_3d"]
        np.testing.assert_array_equal(np.moveaxis(data["real"][()], 0, -1), RGB)
        assert data["axis_k"].attrs["long_name"].startswith("colour channel (0 red")
        assert data["axis_i"][1] == pytest.approx(0.5e-6, rel=2e-3)


def test_dm4_keeps_reciprocal_calibration_and_the_microscope_state(native):
    result = native["results"]["dm4-diffraction"]
    assert (result.flavour, result.pair) == ("digitalmicrograph", "DIGITALMICROGRAPH")
    with h5py.File(result.output) as handle:
        data = handle[f"{EVENT}/image1/image_2d"]
        np.testing.assert_array_equal(data["real"][()], FRAME)
        assert data["axis_i"].attrs["units"] == "1/m"
        assert data["axis_i"][1] == pytest.approx(0.0125e9, rel=2e-3)
        source = handle[f"{EVENT}/instrument/ebeam_column/electron_source/voltage"]
        assert source[()] == pytest.approx(300000.0)
        assert _text(handle[f"{INSTRUMENT}/name"]) == "Titan 80-300"
        assert _text(handle[f"{INSTRUMENT}/detector1/name"]) == "OneView"
        assert _text(handle[f"{INSTRUMENT}/program1/program"]) == "Gatan DigitalMicrograph"
        # DataBar's local time, read in the instrument's zone and stamped with its offset.
        assert _text(handle[f"{EVENT}/start_time"]).startswith("2026-07-14T15:05:09")
        header = json.loads(handle["entry1/vendor_metadata/data"][()])
        assert header["ImageList.TagGroup0.ImageTags.Microscope Info.Voltage"] == 300000.0


def test_velox_detectors_become_images_of_one_entry_with_their_calibration(native):
    result = native["results"]["velox"]
    assert (result.flavour, result.pair) == ("velox", "VELOX_EMD")
    with h5py.File(result.output) as handle:
        first = handle[f"{EVENT}/image1/image_2d"]
        np.testing.assert_array_equal(first["real"][()], HAADF)
        assert "HAADF" in _text(first["title"])
        second = handle[f"{EVENT}/image2/stack_2d"]
        np.testing.assert_array_equal(second["real"][()], DF_STACK)
        assert "DF4" in _text(second["title"])
        for data in (first, second):
            assert data["axis_i"].attrs["units"] == "m"
            assert data["axis_i"][1] == pytest.approx(1.2e-10, rel=2e-3)
            assert data["axis_j"][1] == pytest.approx(1.2e-10, rel=2e-3)
        assert _text(handle[f"{INSTRUMENT}/fabrication/vendor"]) == "FEI Company"
        assert _text(handle[f"{INSTRUMENT}/fabrication/model"]) == "Talos F200X"
        assert _text(handle[f"{EVENT}/start_time"]) == "2026-05-28T20:26:40+00:00"
        scan = f"{EVENT}/instrument/ebeam_column/scan_controller/dwell_time"
        assert handle[scan][()] == pytest.approx(2e-6)


def test_velox_spectrum_image_file_gives_its_images_and_names_the_rest(native):
    """An EDS acquisition's file: its HAADF image is converted; its spectrum image and a complex
    DPC image are not, and the file says so (no extra reader is needed for that)."""
    with h5py.File(_output(native, "velox-si")) as handle:
        data = handle[f"{EVENT}/image1/image_2d"]
        np.testing.assert_array_equal(data["real"][()], HAADF)
        assert data["axis_i"][1] == pytest.approx(5e-10, rel=2e-3)
        context = _text(handle[f"{EVENT}/image1/process/input/context"])
        assert "Data/SpectrumImage (1 EDS spectrum image): not converted" in context
        assert "DPC: not converted" in context
        assert "image2" not in handle[EVENT]


def test_preview_shows_the_first_image_with_its_pixel_size(tmp_path):
    _require_reader()
    sources = write_sources(tmp_path)
    with open_preview(sources["dm3-stack"]) as preview:
        assert preview.info.frames == 5
        assert preview.info.pixel_x == pytest.approx(0.25e-9, rel=2e-3)
        np.testing.assert_array_equal(preview.frame(4), STACK[4])
    with open_preview(sources["velox"]) as preview:  # HDF5 inside, but not a NeXus file
        assert preview.info.unit == "m"
        assert "HAADF" in preview.info.title
        np.testing.assert_array_equal(preview.frame(0), HAADF)


def test_upload_dialog_anticipates_a_dm4_like_a_tiff(tmp_path):
    _require_reader()
    from tests.nexus.conftest import CONTEXT

    sources = write_sources(tmp_path)
    seen = anticipate(sources["dm4-diffraction"], context=CONTEXT)
    assert (seen.flavour, seen.pair, seen.frames) == ("digitalmicrograph", "DIGITALMICROGRAPH", 1)
    assert seen.frame_shape == (48, 64)
    assert seen.calibrated


def test_cli_converts_a_folder_of_dm_and_emd_files_and_inspects_them(tmp_path):
    _require_reader()
    (tmp_path / "session").mkdir()
    sources = write_sources(tmp_path / "session")
    out = tmp_path / "out"
    run = subprocess.run(
        [LAMEFAIR, "convert", str(tmp_path / "session"), "--out-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "colour.nxs",
        "eds-map.nxs",
        "haadf.nxs",
        "saed.nxs",
        "series.nxs",
    ]
    run = subprocess.run(
        [LAMEFAIR, "inspect", str(sources["dm4-diffraction"])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "64 × 48 px float32" in run.stdout
    assert "0.0125 1/nm" in run.stdout


def test_without_the_reader_the_message_says_what_to_install(tmp_path, monkeypatch):
    path = write_dm(tmp_path / "a.dm3", dm_file_tags(image_tags(HAADF, scale=1.0, unit="nm")))
    monkeypatch.setitem(sys.modules, "rsciio.digitalmicrograph", None)  # import fails
    with pytest.raises(SourceReadError) as info:
        convert(path, tmp_path / "a.nxs")
    assert "lamefair[tem-formats]" in str(info.value)
    assert not (tmp_path / "a.nxs").exists()


def test_a_file_of_complex_images_only_is_refused_with_why(tmp_path):
    _require_reader()
    path = write_velox(tmp_path / "fft.emd", [(DPC, velox_metadata(pixel=1e-10, detector="DPC"))])
    with pytest.raises(SourceReadError) as info:
        convert(path, tmp_path / "fft.nxs")
    assert "fft.emd: nothing to convert" in str(info.value)
    assert "complex" in str(info.value)
    assert not (tmp_path / "fft.nxs").exists()


def test_a_damaged_dm_file_is_named_not_a_traceback(tmp_path):
    _require_reader()
    path = tmp_path / "cut.dm4"
    whole = write_dm(tmp_path / "whole.dm4", dm_file_tags(image_tags(HAADF, scale=1.0, unit="nm")))
    path.write_bytes(whole.read_bytes()[:300])
    with pytest.raises(SourceReadError) as info:
        convert(path, tmp_path / "cut.nxs")
    assert "cut.dm4" in str(info.value)
