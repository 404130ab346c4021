"""mappings/ and resources/ are found from a source checkout and from an installed wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from lamefair_desktop.resources import mappings_dir, resource_path

ROOT = Path(__file__).resolve().parents[1]


def test_source_checkout_finds_resources_and_mappings():
    assert resource_path("icons", "lamefair.svg").is_file()
    assert (mappings_dir() / "mapping.schema.json").is_file()


def test_wheel_carries_resources_and_mappings_and_finds_them(tmp_path):
    uv = Path(sys.executable).parent / "uv"
    build = subprocess.run(
        [str(uv), "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("lamefair-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert "lamefair_desktop/_data/resources/icons/lamefair.svg" in names
    assert "lamefair_desktop/_data/mappings/mapping.schema.json" in names

    # Import the extracted wheel (not the checkout) from an unrelated working directory.
    probe = (
        "from lamefair_desktop.resources import mappings_dir, resource_path\n"
        "print(resource_path('icons', 'lamefair.svg'))\n"
        "print(mappings_dir())\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(tmp_path / 'site')!r})\n" + probe,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    icon, mappings = (Path(line) for line in result.stdout.splitlines())
    assert icon.is_file()
    assert icon.is_relative_to(tmp_path / "site")
    assert (mappings / "mapping.schema.json").is_file()
