"""The CLI's exit codes and messages, and the reader under mutated corpus bytes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamefair_desktop.nexus.errors import NexusEngineError
from lamefair_desktop.nexus.writer import convert

LAMEFAIR = str(Path(sys.executable).parent / "lamefair")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LAMEFAIR, *args], capture_output=True, text=True, timeout=300)


def test_convert_validate_inspect(corpus_tiff_dir, context, tmp_path):
    meta = tmp_path / "context.json"
    meta.write_text(json.dumps(context))
    out_dir = tmp_path / "out"
    sources = [corpus_tiff_dir / "TVIPS_bin4.tif", corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif"]
    result = run("convert", *map(str, sources), "--out-dir", str(out_dir), "--meta", str(meta))
    assert result.returncode == 0, result.stderr
    assert "(TVIPS, 1 frame(s))" in result.stdout  # detection: the camera's own mapping
    assert "SEM_FEI" in result.stdout
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "FEI-Helios-Ebeam-16bits.nxs",
        "TVIPS_bin4.nxs",
    ]
    checked = run("validate", str(out_dir / "TVIPS_bin4.nxs"))
    assert checked.returncode == 0
    tree = run("inspect", str(out_dir / "TVIPS_bin4.nxs"))
    assert "NXem_measurement" in tree.stdout
    tags = run("inspect", "--json", str(sources[0]))
    assert json.loads(tags.stdout)["metadata"]["TVIPS.TemHighTension"] == 99000.0

    explicit = run("convert", str(sources[0]), "-o", str(tmp_path / "x.nxs"), "--pair", "TEM_ED")
    assert explicit.returncode == 0
    assert "TEM_ED" in explicit.stdout


def test_validate_lists_what_is_missing(corpus_tiff_dir, tmp_path):
    out = tmp_path / "bare.nxs"
    convert(corpus_tiff_dir / "TVIPS_bin4.tif", out, context=None)
    result = run("validate", str(out))
    assert result.returncode == 5  # NOT valid, as convert --validate says it
    assert "missing: entry1/start_time" not in result.stdout  # the vendor gave an acquisition time
    assert "missing: entry1/sample/atom_types" in result.stdout


def test_convert_failures_exit_non_zero_with_a_message(tmp_path):
    bogus = tmp_path / "notes.tif"
    bogus.write_text("lab book page 12")
    result = run("convert", str(bogus), "--out-dir", str(tmp_path))
    assert result.returncode == 1
    assert "notes.tif" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "notes.nxs").exists()
    unknown = run("convert", str(bogus), "--pair", "NO_SUCH_PAIR")
    assert unknown.returncode == 1
    assert "Traceback" not in unknown.stderr
    bad_meta = tmp_path / "meta.json"
    bad_meta.write_text('{"sampel": {}}')
    typo = run("convert", str(bogus), "--meta", str(bad_meta))
    assert typo.returncode == 2
    assert "sampel" in typo.stderr


@pytest.fixture(scope="module")
def small_corpus_bytes(corpus_tiff_dir) -> list[bytes]:
    return [
        (corpus_tiff_dir / name).read_bytes()
        for name in ("test_loading_image_saved_with_DM.tif", "test_tiff_Zeiss_SEM_512pix.tif")
    ]


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_corpus_bytes_raise_only_our_error(small_corpus_bytes, tmp_path, data):
    original = data.draw(st.sampled_from(small_corpus_bytes))
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 12))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        mutated = mutated[: data.draw(st.integers(0, len(mutated)))]
    source = tmp_path / "mutated.tif"
    source.write_bytes(bytes(mutated))
    output = tmp_path / "mutated.nxs"
    try:
        convert(source, output, context=None)
    except NexusEngineError:
        assert not output.exists() or output.stat().st_size > 0
    finally:
        output.unlink(missing_ok=True)
