"""TIFF -> NXem: valid for the FAIRmat validator, calibrated, deterministic, atomic, streaming."""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile

from lamefair_desktop.nexus.errors import ConversionError, TiffReadError
from lamefair_desktop.nexus.preview import open_preview
from lamefair_desktop.nexus.tiff_reader import open_tiff
from lamefair_desktop.nexus.validate import fairmat_installed, fairmat_validate, structural_problems
from lamefair_desktop.nexus.writer import KnownDigest, anticipate, convert
from tests.support.components import unavailable

IMAGE = "entry1/measurement/event1/image1"


@pytest.fixture(scope="module")
def validator() -> None:
    if not fairmat_installed():
        unavailable("FAIRmat validator", "pynx (pynxtools, test extra) is not installed")


def test_every_corpus_tiff_becomes_valid_nxem_with_calibrated_axes(
    corpus_tiffs, context, tmp_path, validator
):
    context_only = {"sample": context["sample"], "experiment": context["experiment"]}
    for source in corpus_tiffs:
        output = tmp_path / f"{source.stem}.nxs"
        result = convert(source, output, context=context_only)
        report = fairmat_validate(output)
        assert report.valid, f"{source.name}:\n{report.report[-2000:]}"
        assert structural_problems(output) == []
        with open_tiff(source) as tiff, h5py.File(output) as handle:
            kind = "stack_2d" if tiff.frame_count > 1 else "image_2d"
            data = handle[f"{IMAGE}/{kind}"]
            axis = data["axis_i"]
            assert axis.attrs["units"] == tiff.calibration.unit
            assert math.isclose(axis[1] - axis[0], tiff.calibration.pixel_x, rel_tol=1e-9)
            np.testing.assert_array_equal(
                data["real"][tiff.frame_count - 1] if kind == "stack_2d" else data["real"][()],
                tiff.frame(tiff.frame_count - 1),
            )
            note = handle["entry1/source_file"]
            assert note["checksum"][()].decode() == hashlib.sha256(source.read_bytes()).hexdigest()
            header = json.loads(handle["entry1/vendor_metadata/data"][()])
            assert header == json.loads(json.dumps(tiff.metadata, default=str))
        assert result.source_sha256 == hashlib.sha256(source.read_bytes()).hexdigest()


def test_metres_for_images_and_reciprocal_metres_for_diffraction(
    corpus_tiff_dir, context, tmp_path
):
    out = tmp_path / "fei.nxs"
    convert(corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif", out, context=context)
    with h5py.File(out) as handle:
        axis = handle[f"{IMAGE}/image_2d/axis_i"]
        assert axis.attrs["units"] == "m"
        assert axis[1] == pytest.approx(3.3724e-06)
        voltage = handle[
            "entry1/measurement/event1/instrument/ebeam_column/electron_source/voltage"
        ]
        assert voltage[()] == 5000.0
        assert voltage.attrs["units"] == "V"
        assert (
            handle["entry1/measurement/instrument/fabrication/vendor"][()]
            .decode()
            .startswith("FEI")
        )
        stage = handle["entry1/measurement/event1/instrument/stage"]
        assert stage["rotation"].attrs["units"] == "rad"
        np.testing.assert_allclose(stage["position"][()], [2.576e-05, -0.000194177, 0.007965])
    out = tmp_path / "saed.nxs"
    convert(corpus_tiff_dir / "JEOL-SightX-SAED-dummy.tif", out, context=context)
    with h5py.File(out) as handle:
        assert handle[f"{IMAGE}/image_2d/axis_i"].attrs["units"] == "1/m"
        optics = handle["entry1/measurement/event1/instrument/optics"]
        assert optics["camera_length"][()] == pytest.approx(0.4)


def test_missing_context_still_writes_the_file_and_says_what_is_lacking(
    corpus_tiff_dir, tmp_path, validator
):
    out = tmp_path / "bare.nxs"
    result = convert(corpus_tiff_dir / "test_loading_image_saved_with_DM.tif", out, context=None)
    assert out.is_file()
    lacking = " ".join(result.lacking)
    assert "sample.atom_types" in lacking
    assert "sample.preparation_date" in lacking
    assert "instrument.vendor" in lacking
    report = fairmat_validate(out)
    assert not report.valid
    assert "atom_types" in report.report


@pytest.mark.parametrize("with_context", [False, True])
def test_anticipation_lists_what_the_conversion_will_lack(
    corpus_tiff_dir, tmp_path, context, with_context
):
    """The upload dialog's promise, checked against the real conversion of every corpus TIFF."""
    for source in sorted(corpus_tiff_dir.glob("*.tif")):
        given = context if with_context else None
        expected = convert(source, tmp_path / f"{source.stem}.nxs", context=given)
        seen = anticipate(source, context=given)
        assert seen.lacking == expected.lacking, source.name
        assert (seen.flavour, seen.pair, seen.frames) == (
            expected.flavour,
            expected.pair,
            expected.frames,
        )


def test_output_is_deterministic(corpus_tiff_dir, context, tmp_path):
    first, second = tmp_path / "a.nxs", tmp_path / "b.nxs"
    source = corpus_tiff_dir / "test_tiff_Zeiss_SEM_512pix.tif"
    convert(source, first, context=context)
    convert(source, second, context=context)
    assert first.read_bytes() == second.read_bytes()


def _write_stack(path: Path, frames: int, rows: int, columns: int) -> None:
    with tifffile.TiffWriter(path) as writer:
        for index in range(frames):
            writer.write(np.full((rows, columns), index, np.uint16), contiguous=True)


def test_stacks_stream_frame_by_frame_with_bounded_memory(tmp_path, context):
    rows, columns, frames = 1024, 1024, 40
    source = tmp_path / "stack.tif"
    _write_stack(source, frames, rows, columns)
    frame_bytes = rows * columns * 2
    tracemalloc.start()
    try:
        result = convert(source, tmp_path / "stack.nxs", context=context)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.frames == frames
    assert peak < 4 * frame_bytes, f"peak {peak / frame_bytes:.1f} frames"
    with h5py.File(tmp_path / "stack.nxs") as handle:
        data = handle[f"{IMAGE}/stack_2d"]
        assert data["real"].shape == (frames, rows, columns)
        assert data["real"].chunks == (1, rows, columns)
        assert data["real"][37, 5, 5] == 37
        assert list(data.attrs["axes"]) == ["indices_image", "axis_j", "axis_i"]


def test_cancel_and_failures_leave_no_partial_file(tmp_path, context, corpus_tiff_dir):
    source = tmp_path / "stack.tif"
    _write_stack(source, 20, 64, 64)
    cancel = threading.Event()
    out = tmp_path / "out.nxs"

    def stop_after_three(done: int, total: int) -> None:
        if done == 3:
            cancel.set()

    with pytest.raises(ConversionError, match="cancelled"):
        convert(source, out, context=context, progress=stop_after_three, cancel=cancel)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack.tif"]

    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"II*\x00garbage")
    with pytest.raises(TiffReadError):
        convert(broken, tmp_path / "broken.nxs", context=context)
    assert not (tmp_path / "broken.nxs").exists()
    assert not list(tmp_path.glob(".*partial"))


def test_preview_reads_tiff_and_nexus_alike(corpus_tiff_dir, context, tmp_path):
    source = corpus_tiff_dir / "test_loading_image_saved_with_imageJ_stack.tif"
    out = tmp_path / "ij.nxs"
    convert(source, out, context=context)
    with open_preview(source) as tiff_view, open_preview(out) as nexus_view:
        assert tiff_view.info.frames == nexus_view.info.frames == 2
        assert nexus_view.info.unit == tiff_view.info.unit == "m"
        assert nexus_view.info.pixel_x == pytest.approx(tiff_view.info.pixel_x)
        np.testing.assert_array_equal(tiff_view.frame(1), nexus_view.frame(1))
        y, x, value = nexus_view.value_at(1, 10, 20)
        assert x == pytest.approx(20 * tiff_view.info.pixel_x)
        assert y == pytest.approx(10 * tiff_view.info.pixel_y)
        assert value == pytest.approx(float(tiff_view.frame(1)[10, 20]))
        tree = nexus_view.metadata()
        assert tree["entry1"]["@NX_class"] == "NXentry"
        assert tree["entry1"]["definition"]["value"] == "NXem"
        assert "ImageDescription.ImageJ" in tiff_view.metadata()


def test_a_known_sha256_is_recorded_only_while_the_file_is_as_it_was_hashed(context, tmp_path):
    source = tmp_path / "image.tif"
    tifffile.imwrite(source, np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    actual = hashlib.sha256(source.read_bytes()).hexdigest()
    stat = source.stat()
    known = KnownDigest(actual, stat.st_size, stat.st_mtime_ns)
    result = convert(source, tmp_path / "a.nxs", context=context, known=known)
    with h5py.File(tmp_path / "a.nxs") as handle:
        assert handle["entry1/source_file/checksum"][()].decode() == actual
    assert result.source_sha256 == actual
    # A digest for other bytes (same size, mtime put back) is not trusted: the file is hashed.
    stale = KnownDigest("0" * 64, stat.st_size, stat.st_mtime_ns)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # moves the ctime, as a rewrite does
    result = convert(source, tmp_path / "b.nxs", context=context, known=stale)
    assert result.source_sha256 == actual
    with h5py.File(tmp_path / "b.nxs") as handle:
        assert handle["entry1/source_file/checksum"][()].decode() == actual


def test_a_source_rewritten_while_it_converts_gets_no_nxem_with_a_checksum(context, tmp_path):
    """The checksum and the image are two reads of the file: if it changed between them, the
    NXem could record the SHA-256 of bytes other than those converted."""
    source = tmp_path / "image.tif"
    tifffile.imwrite(source, np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))

    def rewrite(_done: int, _total: int) -> None:  # after the image, before the checksum note
        tifffile.imwrite(source, np.zeros((64, 65), dtype=np.uint16))

    with pytest.raises(ConversionError, match="changed while it was converted"):
        convert(source, tmp_path / "a.nxs", context=context, progress=rewrite)
    assert not (tmp_path / "a.nxs").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["image.tif"]  # no partial file either
