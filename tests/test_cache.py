"""The preview cache stays under its size, oldest first, never the file just opened."""

from __future__ import annotations

import os

from lamefair_desktop.home.preview_cache import trim


def test_trim_removes_least_recently_used_files_first(tmp_path):
    files = []
    for age, name in enumerate(["newest", "middle", "oldest"]):
        path = tmp_path / "b" / f"{name}.tif"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1_000_000 - age * 1000, 1_000_000 - age * 1000))
        files.append(path)
    newest, middle, oldest = files
    assert trim(tmp_path, 2000) == 1000
    assert [p.exists() for p in (oldest, middle, newest)] == [False, True, True]
    assert trim(tmp_path, 0, keep=frozenset({middle})) == 1000
    assert [p.exists() for p in (middle, newest)] == [True, False]
