"""The desktop refuses a drop the catalog would refuse, before hashing or registering anything."""

from __future__ import annotations

import pytest

from lamefair_desktop.transfer.errors import UploadError
from lamefair_desktop.transfer.registration import collect_files


def test_a_drop_whose_paths_collide_elsewhere_is_refused_naming_them(tmp_path):
    # Two names that are one on Windows and macOS (this file system keeps both).
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "A.tif").write_bytes(b"a")
    (folder / "a.tif").write_bytes(b"b")
    with pytest.raises(UploadError, match="upper/lower case") as caught:
        collect_files([folder])
    assert "'scans/A.tif'" in str(caught.value)
    assert "'scans/a.tif'" in str(caught.value)

    # A file `dir` dropped next to a folder `dir`: a download could not create both.
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "dir").write_bytes(b"file")
    (tmp_path / "two" / "dir").mkdir(parents=True)
    (tmp_path / "two" / "dir" / "file.bin").write_bytes(b"inside")
    with pytest.raises(UploadError, match="needs a folder") as caught:
        collect_files([tmp_path / "one" / "dir", tmp_path / "two" / "dir"])
    assert "'dir/file.bin'" in str(caught.value)

    # A name that displays in another order than it is stored.
    flipped = tmp_path / "scan\u202egnp.exe"
    flipped.write_bytes(b"x")
    with pytest.raises(UploadError, match="U\\+202E"):
        collect_files([flipped])
