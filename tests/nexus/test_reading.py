"""Every corpus flavour is recognised, flattened and calibrated; synthetic vendor-like TIFFs too."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tifffile

from lamefair_desktop.nexus.calibration import electron_wavelength
from lamefair_desktop.nexus.errors import TiffReadError
from lamefair_desktop.nexus.tiff_reader import open_tiff

# file -> (flavour, (pixel_y, pixel_x) in SI, unit, frames, a flattened key and its value)
EXPECTED = {
    "FEI-Helios-Ebeam-16bits.tif": ("fei", 3.3724e-06, "m", 1, ("FEI_HELIOS.Beam.HV", 5000)),
    "JEOL-SightX-SAED-dummy.tif": (
        "jeol_sightx",
        0.0254 / 93 / (0.4 * electron_wavelength(200_000)),
        "1/m",
        1,
        ("ImageDescription.TemReporter.ElectronGun.AccelerationVoltage", 200000),
    ),
    "TVIPS_bin4.tif": ("tvips", 1.4208036661148071e-09, "m", 1, ("TVIPS.TemHighTension", 99000.0)),
    "test_loading_image_saved_with_DM.tif": ("gatan_dm", 0.16867469251155853e-6, "m", 1, None),
    "test_loading_image_saved_with_imageJ_stack.tif": (
        "imagej",
        1e-6 * 1000000 / 5928571,
        "m",
        2,
        ("ImageDescription.unit", "micron"),
    ),
    "test_tiff_Zeiss_SEM_512pix.tif": (
        "zeiss",
        5.824988e-09 * 1024 / 512,
        "m",
        1,
        ("CZ_SEM.ap_actualkv.unit", "kV"),
    ),
}


def test_every_corpus_file_is_read_with_its_physical_pixel_size(corpus_tiffs):
    names = {p.name for p in corpus_tiffs}
    assert set(EXPECTED) <= names
    for path in corpus_tiffs:
        flavour, pitch, unit, frames, probe = EXPECTED[path.name]
        with open_tiff(path) as source:
            assert source.flavour == flavour, path.name
            assert source.calibration.unit == unit, path.name
            assert math.isclose(source.calibration.pixel_x, pitch, rel_tol=1e-6), path.name
            assert math.isclose(source.calibration.pixel_y, pitch, rel_tol=1e-6), path.name
            assert source.frame_count == frames
            last = source.frame(frames - 1)
            assert last.shape == source.frame_shape
            if probe:
                key, value = probe
                assert source.metadata[key] == value, (path.name, key)


def test_xml_and_structured_tags_are_flattened_with_list_indices(corpus_tiff_dir):
    with open_tiff(corpus_tiff_dir / "JEOL-SightX-SAED-dummy.tif") as source:
        keys = source.metadata
        assert keys["Make"] == "JEOL Ltd."
        parts = "ImageDescription.TemReporter.OptionalPartsInfo.OptionalPartsList"
        assert keys[f"{parts}.OptionalPartsReporter[0].PartsName"].startswith("JEOL CCD")
    with open_tiff(corpus_tiff_dir / "TVIPS_bin4.tif") as source:
        assert source.metadata["TVIPS.TemStagePosition[1]"] == pytest.approx(-9.2e-08)
        assert source.metadata["StripOffsets"].startswith("<")  # layout summarised, not dumped


def test_synthetic_fei_and_imagej_files_are_recognised(tmp_path):
    ini = (
        "[User]\r\nDate=01/02/2026\r\nTime=09:30:00 AM\r\n[Beam]\r\nHV=15000\r\n"
        "[Scan]\r\nPixelWidth=2.5e-09\r\nPixelHeight=2.5e-09\r\nDwelltime=3e-06\r\n"
    )
    fei = tmp_path / "fei.tif"
    tifffile.imwrite(
        fei,
        np.arange(64 * 80, dtype=np.uint16).reshape(64, 80),
        extratags=[(34682, "s", 0, ini, True)],
    )
    with open_tiff(fei) as source:
        assert source.flavour == "fei"
        assert source.calibration.pixel_x == pytest.approx(2.5e-9)
        assert source.metadata["FEI_HELIOS.Beam.HV"] == 15000

    stack = tmp_path / "ij.tif"
    frames = np.random.default_rng(1).random((5, 32, 40), dtype=np.float32)
    tifffile.imwrite(
        stack,
        frames,
        imagej=True,
        resolution=(1 / 0.25, 1 / 0.25),
        metadata={"unit": "nm", "spacing": 2.0, "axes": "ZYX"},
    )
    with open_tiff(stack) as source:
        assert source.flavour == "imagej"
        assert source.frame_count == 5
        assert source.calibration.pixel_x == pytest.approx(0.25e-9)
        assert source.calibration.frame_spacing == pytest.approx(2e-9)
        np.testing.assert_array_equal(source.frame(3), frames[3])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "is empty"),
        (b"this is not a tiff at all" * 10, "not a readable TIFF"),
        (b"II*\x00\x08\x00\x00\x00\xff\xff", "TIFF"),
    ],
)
def test_bad_files_give_a_clear_error_naming_the_file(tmp_path, content, words):
    path = tmp_path / "broken-image.tif"
    path.write_bytes(content)
    with pytest.raises(TiffReadError) as info:
        open_tiff(path)
    assert "broken-image.tif" in str(info.value)
    assert words in str(info.value)


def test_truncated_corpus_file_fails_cleanly(tmp_path, corpus_tiff_dir):
    data = (corpus_tiff_dir / "TVIPS_bin4.tif").read_bytes()
    path = tmp_path / "cut.tif"
    path.write_bytes(data[: len(data) // 2])
    # Opening may succeed (the header is intact); decoding the frame may not.
    with pytest.raises(TiffReadError) as info, open_tiff(path) as source:  # noqa: PT012
        source.frame(0)
    assert "cut.tif" in str(info.value)


def test_two_sample_and_complex_images_are_refused_by_name(tmp_path):
    pair = tmp_path / "pair.tif"
    tifffile.imwrite(
        pair, np.zeros((8, 8, 2), np.uint8), photometric="minisblack", planarconfig="contig"
    )
    with pytest.raises(TiffReadError, match="pair.tif has 2 samples per pixel"):
        open_tiff(pair)
    complex_file = tmp_path / "complex.tif"
    tifffile.imwrite(complex_file, np.zeros((8, 8), np.complex64))
    with pytest.raises(TiffReadError, match="complex.tif.*not supported"):
        open_tiff(complex_file)


def test_huge_text_tags_are_cut_and_huge_numeric_tags_summarised(tmp_path):
    path = tmp_path / "huge-tags.tif"
    description = "x" * 5_000_000
    tifffile.imwrite(
        path,
        np.zeros((16, 16), np.uint8),
        description=description,
        extratags=[(65000, "d", 200_000, np.arange(200_000, dtype=np.float64), True)],
    )
    with open_tiff(path) as source:
        assert len(source.metadata["ImageDescription"]) == 65_536
        assert source.metadata["tag_65000"] == "<array float64 [200000]>"
        assert source.frame(0).shape == (16, 16)
