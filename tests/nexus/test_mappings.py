"""Mappings are data: every shipped file loads against the schema; broken ones are named."""

from __future__ import annotations

import json
import shutil

import pytest

from lamefair_catalog.shared import known_instrument_pairs
from lamefair_desktop.nexus.apply_mapping import apply
from lamefair_desktop.nexus.errors import MappingError
from lamefair_desktop.nexus.mapping import MappingRegistry, load_mapping
from lamefair_desktop.resources import mappings_dir


def test_shipped_mappings_load_and_cover_every_flavour():
    registry = MappingRegistry.load()
    ids = {pair for pair, _ in registry.pairs()}
    assert {"TEM_JEOL_F200_TVIPS", "TEM_ED", "generic"} <= ids
    for flavour in ("tvips", "jeol_sightx", "fei", "zeiss", "gatan_dm", "imagej", "generic"):
        assert flavour in registry.for_flavour(flavour).flavours
    assert all(label for _, label in registry.pairs())
    # The catalog server accepts exactly these ids for a measurement's instrument_pair.
    assert known_instrument_pairs() == frozenset(ids)


def _folder_with(tmp_path, mapping: dict):
    folder = tmp_path / "mappings"
    folder.mkdir()
    shutil.copy(mappings_dir() / "mapping.schema.json", folder)
    (folder / "lab.json").write_text(json.dumps(mapping))
    return folder


BASE = {"id": "LAB_X", "label": "Lab X", "entries": [{"target": "event.voltage", "source": "a"}]}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            {"entries": [{"target": "event.voltage", "source": "HV", "unit": "parsec"}]},
            "entry 1 (event.voltage): unknown unit 'parsec'",
        ),
        (
            {"entries": [{"target": "event.nonsense", "source": "HV"}]},
            "entry 1 (event.nonsense): unknown target",
        ),
        (
            {"entries": [{"target": "event.voltage", "source": "HV", "unit": "mm"}]},
            "cannot become 'V'",
        ),
        ({"entries": [{"target": "event.voltage"}]}, "entry 1 (event.voltage)"),
        ({"label": ""}, "field label"),
        (
            {"entries": [{"target": "event.voltage", "source": "a", "colour": "red"}]},
            "entry 1 (event.voltage)",
        ),
    ],
)
def test_malformed_mapping_is_rejected_naming_file_and_entry(tmp_path, change, words):
    folder = _folder_with(tmp_path, {**BASE, **change})
    with pytest.raises(MappingError) as info:
        MappingRegistry.load(folder)
    assert "lab.json" in str(info.value)
    assert words in str(info.value)


def test_not_json_is_named(tmp_path):
    folder = _folder_with(tmp_path, BASE)
    (folder / "lab.json").write_text("{ not json")
    with pytest.raises(MappingError, match="lab.json is not valid JSON"):
        load_mapping(folder / "lab.json")


def test_units_transforms_and_fallback_sources(tmp_path):
    folder = _folder_with(
        tmp_path,
        {
            "id": "LAB_X",
            "label": "Lab X",
            "entries": [
                {"target": "event.voltage", "source": ["missing", "HV"], "unit": "kV"},
                {"target": "event.working_distance", "source": "WD", "unit": "mm"},
                {"target": "event.stage.tilt1", "source": "T", "unit": "deg"},
                {"target": "event.dwell_time", "source": "dwell", "unit": "us"},
                {
                    "target": "instrument.model",
                    "source": "serial",
                    "transform": {"kind": "pick", "separator": " ", "index": 0},
                },
                {
                    "target": "column.emitter_type",
                    "source": "gun",
                    "transform": {"kind": "lookup", "values": {"FEG": "schottky"}},
                },
                {
                    "target": "event.magnification",
                    "source": "mag",
                    "transform": {"kind": "number_in_text"},
                },
                {
                    "target": "event.start_time",
                    "transform": {
                        "kind": "datetime",
                        "date": "d",
                        "time": "t",
                        "timezone": "Europe/Berlin",
                    },
                },
                {"target": "event.stage.rotation", "default": 0.0, "unit": "rad"},
            ],
        },
    )
    mapping = MappingRegistry.load(folder).get("LAB_X")
    result = apply(
        mapping,
        {
            "HV": 200,
            "WD": 4.5,
            "T": 90,
            "dwell": 2,
            "serial": "ULTRA 55-36",
            "gun": "FEG",
            "mag": "x 50000",
            "d": "2026-07-01",
            "t": "14:30:00",
        },
    )
    values = result.values
    assert values["event.voltage"] == 200_000.0
    assert values["event.working_distance"] == pytest.approx(0.0045)
    assert values["event.stage.tilt1"] == pytest.approx(1.5707963)
    assert values["event.dwell_time"] == pytest.approx(2e-6)
    assert values["instrument.model"] == "ULTRA"
    assert values["column.emitter_type"] == "schottky"
    assert values["event.magnification"] == 50000.0
    assert values["event.start_time"] == "2026-07-01T14:30:00+02:00"
    assert values["event.stage.rotation"] == 0.0
    bad = apply(mapping, {"gun": "W", "HV": "two hundred"})
    assert any("lookup" in p for p in bad.problems)
    assert any(p.startswith("event.voltage") for p in bad.problems)


def test_a_mapping_edited_after_it_passed_is_checked_again(tmp_path):
    """A new process skips the schema check (about 14 ms of CPU) for bytes that passed before,
    never for a file changed since: the verdict is remembered by content."""
    folder = _folder_with(tmp_path, BASE)
    assert MappingRegistry.load(folder).get("LAB_X").label == "Lab X"
    (folder / "lab.json").write_text(json.dumps({**BASE, "label": ""}))
    with pytest.raises(MappingError, match="lab.json, field label"):
        MappingRegistry.load(folder)
    (folder / "lab.json").write_text(json.dumps(BASE))
    assert MappingRegistry.load(folder).get("LAB_X").label == "Lab X"  # passed again, same bytes
