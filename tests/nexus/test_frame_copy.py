"""A frame the TIFF stores as the dataset holds it is copied file to file (frame_copy), not decoded;
every other layout is decoded as before, and both give the same entry."""

from __future__ import annotations

import errno
import os
import threading

import h5py
import numpy as np
import pytest
import tifffile

from lamefair_desktop.nexus import frame_copy
from lamefair_desktop.nexus.errors import TiffReadError
from lamefair_desktop.nexus.tiff_reader import TiffSource, open_tiff
from lamefair_desktop.nexus.validate import structural_problems
from lamefair_desktop.nexus.writer import convert

REAL = "entry1/measurement/event1/image1/image_2d/real"

pytestmark = pytest.mark.skipif(not frame_copy.AVAILABLE, reason="no os.copy_file_range here")


def _image() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 65535, (300, 200), dtype=np.uint16)


def _walk(path) -> dict:
    """Every path of the file with its value and attributes (text as str)."""
    out = {}
    with h5py.File(path) as handle:

        def visit(name, obj):
            attrs = {k: np.asarray(v).tolist() for k, v in sorted(obj.attrs.items())}
            value = np.asarray(obj[()]).tolist() if isinstance(obj, h5py.Dataset) else None
            dtype = str(obj.dtype) if isinstance(obj, h5py.Dataset) else None
            out[name] = (dtype, value, attrs)

        handle.visititems(visit)
    return out


def _no_decoding(monkeypatch) -> None:
    def refuse(self, index=0):
        raise AssertionError("the frame was decoded")

    monkeypatch.setattr(TiffSource, "frame", refuse)


def test_a_plainly_stored_frame_is_copied_not_decoded_and_the_entry_is_the_same(
    tmp_path, context, monkeypatch
):
    source = tmp_path / "plain.tif"
    tifffile.imwrite(source, _image())
    decoded = tmp_path / "decoded.nxs"
    with monkeypatch.context() as patch:
        patch.setattr(frame_copy, "AVAILABLE", False)
        convert(source, decoded, context=context)
    _no_decoding(monkeypatch)
    copied = tmp_path / "copied.nxs"
    progress = []
    convert(source, copied, context=context, progress=lambda *done: progress.append(done))
    assert progress == [(1, 1)]
    with h5py.File(copied) as handle:
        np.testing.assert_array_equal(handle[REAL][()], _image())
    assert _walk(copied) == _walk(decoded)
    assert structural_problems(copied) == []
    assert not [t for t in threading.enumerate() if t.name == "lamefair-frame-copy"]


def test_only_frames_stored_as_the_dataset_holds_them_are_copied(tmp_path):
    image = _image()
    cases = {
        "plain": ({}, True),
        "big_endian": ({"byteorder": ">"}, False),
        "compressed": ({"compression": "zlib"}, False),
        "predictor": ({"compression": "zlib", "predictor": True}, False),
        "tiled": ({"tile": (64, 64)}, False),
    }
    for name, (options, plain) in cases.items():
        path = tmp_path / f"{name}.tif"
        tifffile.imwrite(path, image, **options)
        with open_tiff(path) as tiff:
            stored = tiff.stored_frame()
            assert (stored is not None) == plain, name
            if stored is not None:
                offset, size = stored
                assert path.read_bytes()[offset : offset + size] == image.tobytes()
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, np.stack([image, image]))
    with open_tiff(stack) as tiff:
        assert tiff.stored_frame() is None  # stacks stream frame by frame into chunks


def test_a_file_system_refusing_the_kernel_copy_gets_the_same_bytes(tmp_path, context, monkeypatch):
    source = tmp_path / "plain.tif"
    tifffile.imwrite(source, _image())

    def refused(*args):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refused)
    monkeypatch.setattr(frame_copy, "_STEP", 4096)  # several pread/pwrite rounds
    _no_decoding(monkeypatch)
    convert(source, tmp_path / "out.nxs", context=context)
    with h5py.File(tmp_path / "out.nxs") as handle:
        np.testing.assert_array_equal(handle[REAL][()], _image())


def test_a_source_shorter_than_its_header_says_is_reported_as_truncated(tmp_path):
    source = tmp_path / "short.bin"
    source.write_bytes(b"x" * 1000)
    target = tmp_path / "target.bin"
    target.write_bytes(b"")
    copy = frame_copy.FrameCopy(source, 100, 5000, target, 0)
    with pytest.raises(TiffReadError, match="truncated"):
        copy.join()
