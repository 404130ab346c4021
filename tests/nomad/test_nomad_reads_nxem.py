"""NOMAD, where many labs publish NXem (FAIRmat's repository), reads the files lamefair writes.

Every corpus TIFF is converted with a catalog context, then NOMAD's own NeXus parser (pynxtools'
NOMAD plugin) and normalizers read the `.nxs` files in the NOMAD venv that `make test` creates
(`nomad_parse.py` says how). One subprocess for all files: NOMAD builds its metainfo from the
NeXus definitions first (about 40 s), then takes about a second per file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lamefair_desktop.nexus.writer import convert
from tests.support.components import unavailable

pytestmark = [pytest.mark.nomad, pytest.mark.slow, pytest.mark.timeout(900)]

SCRIPT = Path(__file__).with_name("nomad_parse.py")
# Elements unlike those of the other NeXus tests' sample, so they can only come from this one.
SAMPLE = {
    "id": "5c1f0e2a-3b7d-4e59-8a61-0f2d9c4b7e13",
    "name": "SiO2 film on Si",
    "identifier": "S-042",
    "preparation_date": "2026-10-01",
    "atom_types": ["Si", "O"],
    "is_simulation": False,
}
EXPERIMENT = {
    "id": "9e4b2c71-6d0a-4f8e-b3c5-7a1d2e6f9b40",
    "name": "SEM session 4",
    "start_time": "2026-11-20T09:00:00Z",
}


@pytest.fixture(scope="module")
def nomad_python() -> Path:
    python = Path(sys.prefix) / "nomad" / "bin" / "python"
    if not python.is_file():
        unavailable("NOMAD", f"{python} does not exist (`make .venv/nomad/.stamp` creates it)")
    return python


@pytest.fixture(scope="module")
def parsed(corpus_tiffs, nomad_python, tmp_path_factory) -> dict[str, dict]:
    """{file name: what NOMAD made of the NXem that lamefair wrote for that corpus TIFF}."""
    folder = tmp_path_factory.mktemp("nomad-upload")
    outputs = []
    for source in corpus_tiffs:
        output = folder / f"{source.stem}.nxs"
        convert(source, output, context={"sample": SAMPLE, "experiment": EXPERIMENT})
        outputs.append(output)
    result = subprocess.run(
        [str(nomad_python), str(SCRIPT), *map(str, outputs)],
        capture_output=True,
        text=True,
        timeout=800,
        cwd=folder,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    assert sorted(parsed) == sorted(output.name for output in outputs)
    return parsed


def test_nomad_parses_every_nxem_as_an_em_entry_without_errors(parsed):
    identifiers = (SAMPLE["identifier"], EXPERIMENT["id"])
    # What an Oasis answers for a sample or experiment it does not hold yet.
    not_yet_in_the_oasis = tuple(f'Found no entries with lab_id: "{i}"' for i in identifiers)
    for name, entry in parsed.items():
        assert (entry["parser"] or "").startswith("pynxtools."), (name, entry)
        assert entry["entries"] == 1, (name, entry)
        assert entry["definitions"] == ["NXem"], (name, entry)
        assert entry["entry_type"] == "Em Experiment", (name, entry)
        unexpected = [
            problem
            for problem in entry["problems"]
            if not problem["event"].startswith(not_yet_in_the_oasis)
        ]
        assert unexpected == [], (name, entry)
        # NOMAD links the entry to the catalog's sample and experiment by their identifiers.
        assert entry["lab_ids"] == sorted(identifiers), (name, entry)


def test_the_samples_elements_are_the_entrys_material_elements(parsed):
    for name, entry in parsed.items():
        assert entry["elements"] == sorted(SAMPLE["atom_types"]), (name, entry)
