"""Write NeXus/NXem files with h5py: the layout `pynx validate` (pynxtools) accepts in strict mode.

- Vendor extras never become ad-hoc fields (one undocumented field makes the entry invalid): the
  complete flattened header goes into an NXnote as JSON.
- Frames stream into a chunked dataset one at a time: memory stays near one frame.
- The file is written under a temporary name and renamed at the end: never a half-written `.nxs`.
- Deterministic: same input and context give the same bytes (no wall-clock time is written, and
  vendor times are read in the instrument's zone by name, never with today's offset).
- Provenance: notes say which mapping made the file and why (detected from the file or chosen),
  and in which zone the vendor's times were read and why.
"""

from __future__ import annotations

import errno
import io
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from lamefair_desktop import __version__
from lamefair_desktop.hashing import sha256_of
from lamefair_desktop.nexus.context import normalise_context
from lamefair_desktop.nexus.errors import ConversionError
from lamefair_desktop.nexus.image_data import input_context, write_image, write_image_notes
from lamefair_desktop.nexus.image_kinds import without_scan_for_cameras
from lamefair_desktop.nexus.local_time import RULE, ZoneChoice
from lamefair_desktop.nexus.mapping import (
    MappedValues,
    MappingChoice,
    MappingRegistry,
    PairOrigin,
    apply,
    choose_mapping,
    default_registry,
)
from lamefair_desktop.nexus.targets import GROUP_CLASSES, GROUP_REQUIREMENTS, TARGETS, UNKNOWN
from lamefair_desktop.nexus.tiff_reader import FLAVOUR_LABELS, TiffSource, open_tiff

ENTRY = "entry1"
IMAGE_GROUP = "measurement/event1/image1"


@dataclass(frozen=True)
class ConversionResult:
    """What was written. The output's own SHA-256 is left to whoever uploads it (the transfer
    engine hashes while it reads), so conversion reads the new file no second time."""

    output: Path
    size: int
    source: Path
    source_sha256: str
    flavour: str
    pair: str
    frames: int
    calibrated: bool
    lacking: tuple[str, ...] = field(default_factory=tuple)  # what the entry misses, in words
    warnings: tuple[str, ...] = field(default_factory=tuple)  # e.g. a pair made for other files


def _iso_datetime(value: Any) -> str | None:
    """NX_DATE_TIME text from a catalog value (ISO strings, dates become midnight UTC)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00+00:00"
    text = str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return f"{text}T00:00:00+00:00"
    return text.replace("Z", "+00:00")


class _Writer:
    def __init__(self, handle: h5py.File) -> None:
        self.file = handle
        self.entry = self.group(ENTRY, "NXentry", root=True)

    def group(self, path: str, nx_class: str | None = None, *, root: bool = False) -> h5py.Group:
        base = self.file if root else self.entry
        current = base
        parts = path.split("/")
        for index, part in enumerate(parts):
            if part not in current:
                sub = current.create_group(part)
                prefix = "/".join(parts[: index + 1])
                cls = (
                    nx_class if index == len(parts) - 1 and nx_class else GROUP_CLASSES.get(prefix)
                )
                if cls is None:
                    raise AssertionError(f"no NeXus class known for group {prefix}")
                sub.attrs["NX_class"] = cls
            current = current[part]
        return current

    def field(self, path: str, value: Any, **attrs: Any) -> h5py.Dataset:
        parent_path, _, name = path.rpartition("/")
        parent = self.group(parent_path) if parent_path else self.entry
        if isinstance(value, str):
            value = np.bytes_(value.encode("utf-8")) if not value.isascii() else value
        dataset = parent.create_dataset(name, data=value)
        for key, item in attrs.items():
            dataset.attrs[key] = item
        return dataset


def convert(
    source: str | Path,
    output: str | Path,
    *,
    pair: str | None = None,
    pair_origin: PairOrigin = PairOrigin.CHOSEN,
    zone: ZoneChoice | None = None,
    context: dict | None = None,
    registry: MappingRegistry | None = None,
    source_sha256: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> ConversionResult:
    """Convert one TIFF into one NXem file at `output` (written atomically).

    `pair`: the instrument pair, and `pair_origin` why it is used (None: the file's flavour
    mapping, which writes only what the file states). `zone`: the instrument clock's zone for this
    conversion (None: the pair's setting, else this computer's zone).
    """
    source, output = Path(source), Path(output)
    registry = registry or default_registry()
    context = normalise_context(context)
    with open_tiff(source) as tiff:
        choice = choose_mapping(registry, tiff.flavour, pair, pair_origin)
        mapping = choice.mapping
        # Hash the source on the second core while the frames are copied (hashlib releases the
        # GIL); the checksum is only needed for the notes written after the image.
        hashing = _BackgroundHash(source) if source_sha256 is None else None
        output.parent.mkdir(parents=True, exist_ok=True)
        temporary = output.with_name(f".{output.name}.{os.getpid()}.partial")
        try:
            with h5py.File(temporary, "w", libver=("earliest", "v110")) as handle:
                lacking = _write(
                    handle, tiff, choice, zone, context, hashing, source_sha256, progress, cancel
                )
            source_sha256 = source_sha256 or hashing.result()
            if cancel is not None and cancel.is_set():
                raise ConversionError(f"Conversion of {source.name} was cancelled.")
            os.replace(temporary, output)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            if exc.errno == errno.ENOSPC:
                raise ConversionError(
                    f"Not enough disk space to write {output.name} in {output.parent}; "
                    "free some space and convert again (the TIFF is untouched)."
                ) from exc
            raise ConversionError(f"Cannot write {output}: {exc.strerror or exc}.") from exc
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return ConversionResult(
            output=output,
            size=output.stat().st_size,
            source=source,
            source_sha256=source_sha256,
            flavour=tiff.flavour,
            pair=mapping.id,
            frames=tiff.frame_count,
            calibrated=tiff.calibration.calibrated,
            lacking=tuple(lacking),
            warnings=choice.warnings,
        )


@dataclass(frozen=True)
class Anticipation:
    """What converting a file would give, without reading its frames (the upload dialog)."""

    source: Path
    flavour: str
    pair: str
    frames: int
    frame_shape: tuple[int, ...]
    calibrated: bool
    lacking: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def anticipate(
    source: str | Path,
    *,
    pair: str | None = None,
    pair_origin: PairOrigin = PairOrigin.CHOSEN,
    zone: ZoneChoice | None = None,
    context: dict | None = None,
    registry: MappingRegistry | None = None,
) -> Anticipation:
    """Read the tags, apply the mapping and the context, and say what the NXem would lack.

    The same writers run against an in-memory file, minus the image, so the list cannot drift
    from what `convert` reports.
    """
    source = Path(source)
    registry = registry or default_registry()
    context = normalise_context(context)
    with open_tiff(source) as tiff:
        choice = choose_mapping(registry, tiff.flavour, pair, pair_origin)
        mapping = choice.mapping
        mapped = apply(mapping, tiff.metadata, zone)
        lacking = [f"mapping {mapping.id}: {problem}" for problem in mapped.problems]
        values = without_scan_for_cameras(mapped.values)
        with h5py.File(io.BytesIO(), "w") as handle:
            w = _Writer(handle)
            _write_header(w, values, context, lacking)
            _write_sample(w, context["sample"], lacking)
            _write_instrument(w, values, lacking)
        return Anticipation(
            source=source,
            flavour=tiff.flavour,
            pair=mapping.id,
            frames=tiff.frame_count,
            frame_shape=tuple(tiff.frame_shape),
            calibrated=tiff.calibration.calibrated,
            lacking=tuple(lacking),
            warnings=choice.warnings,
        )


class _BackgroundHash:
    def __init__(self, path: Path) -> None:
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            self._digest = sha256_of(path)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller in result()
            self._error = exc

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise ConversionError(f"Cannot read {self._error}") from self._error
        assert self._digest is not None
        return self._digest


def _write(
    handle: h5py.File,
    tiff: TiffSource,
    choice: MappingChoice,
    zone: ZoneChoice | None,
    context: dict[str, dict[str, Any]],
    hashing: _BackgroundHash | None,
    known_sha256: str | None,
    progress: Callable[[int, int], None] | None,
    cancel: threading.Event | None,
) -> list[str]:
    lacking: list[str] = []
    mapping = choice.mapping
    mapped = apply(mapping, tiff.metadata, zone)
    lacking += [f"mapping {mapping.id}: {problem}" for problem in mapped.problems]
    values = without_scan_for_cameras(mapped.values)
    w = _Writer(handle)
    _write_header(w, values, context, lacking)
    write_image(w, IMAGE_GROUP, tiff, mapping, progress, cancel)
    w.entry["measurement"].attrs["default"] = "event1"
    w.entry["measurement/event1"].attrs["default"] = "image1"
    source_sha256 = known_sha256 or hashing.result()
    _write_provenance(w, tiff, source_sha256)
    write_image_notes(w, IMAGE_GROUP, tiff)
    _write_sample(w, context["sample"], lacking)
    _write_notes(w, tiff, source_sha256, context)
    _write_mapping_note(w, choice)
    _write_time_note(w, mapped)
    _write_frames(w)
    _write_instrument(w, values, lacking)
    return lacking


def _write_header(
    w: _Writer, values: dict[str, Any], context: dict[str, dict[str, Any]], lacking: list[str]
) -> None:
    """The entry's own fields: definition, times, experiment, program, project, operator."""
    handle = w.file
    project = context["project"]
    experiment, measurement = context["experiment"], context["measurement"]

    handle.attrs["default"] = ENTRY
    entry = w.entry
    entry.attrs["default"] = "measurement"
    w.field("definition", "NXem")

    start = _iso_datetime(experiment.get("start_time")) or values.get("event.start_time")
    if start:
        w.field("start_time", start)
    else:
        lacking.append("start_time: give the experiment a start time in the catalog")
    end = _iso_datetime(experiment.get("end_time")) or values.get("event.end_time")
    if end:
        w.field("end_time", end)
    if experiment.get("name"):
        w.field("experiment_alias", str(experiment["name"]))
    description = "\n\n".join(
        str(x) for x in (experiment.get("description"), measurement.get("description")) if x
    )
    if description:
        w.field("experiment_description", description)
    if experiment.get("id"):
        w.field("identifier_experiment", str(experiment["id"]))
    w.group("profiling", "NXcs_profiling")
    w.group("profiling/program1", "NXprogram")
    w.field("profiling/program1/program", "lamefair", version=__version__)
    if project.get("name"):
        w.group("project", "NXproject")
        w.field("project/name", str(project["name"]))

    operator = measurement.get("operator")
    if operator:
        w.group("user1", "NXuser")
        w.field("user1/name", str(operator))
        w.field("user1/role", "operator")
    else:
        lacking.append("operator: name the operator of the measurement")


def _write_sample(w: _Writer, sample: dict[str, Any], lacking: list[str]) -> None:
    w.group("sample", "NXsample")
    if sample.get("name"):
        w.field("sample/name", str(sample["name"]))
    identifier = sample.get("identifier")
    if identifier:
        w.field("sample/identifier_sample", str(identifier), type="lab", type_custom=True)
    elif sample.get("id"):
        w.field("sample/identifier_sample", f"urn:uuid:{sample['id']}", type="URN")
    is_simulation = sample.get("is_simulation")
    if is_simulation is None:
        lacking.append("sample.is_simulation: state whether the sample is a simulation")
    else:
        w.field("sample/is_simulation", bool(is_simulation))
    preparation = _iso_datetime(sample.get("preparation_date"))
    if preparation:
        w.field("sample/preparation_date", preparation)
    else:
        lacking.append("sample.preparation_date: give the sample's preparation date")
    atoms = sample.get("atom_types")
    if atoms:
        w.field("sample/atom_types", ", ".join(atoms) if isinstance(atoms, list) else str(atoms))
    else:
        lacking.append("sample.atom_types: list the sample's chemical elements")
    if sample.get("physical_form"):
        w.field("sample/physical_form", str(sample["physical_form"]))
    if sample.get("description"):
        w.field("sample/description", str(sample["description"]))


def _json_bytes(value: Any) -> np.bytes_:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return np.bytes_(text.encode("utf-8"))  # NXnote/data is NX_BINARY


def _write_notes(w: _Writer, tiff: TiffSource, sha256: str, context: dict) -> None:
    w.group("source_file", "NXnote")
    w.field("source_file/type", "image/tiff")
    w.field("source_file/file_name", tiff.path.name)
    w.field("source_file/checksum", sha256)
    w.field("source_file/algorithm", "SHA-256")
    w.field("source_file/description", f"{FLAVOUR_LABELS[tiff.flavour]} TIFF")

    w.group("vendor_metadata", "NXnote")
    w.field("vendor_metadata/type", "application/json")
    w.field("vendor_metadata/file_name", tiff.path.name)
    w.field(
        "vendor_metadata/description",
        "Complete TIFF header of the source file, flattened to dotted keys.",
    )
    w.field("vendor_metadata/data", _json_bytes(tiff.metadata))

    if any(context.values()):
        w.group("catalog_context", "NXnote")
        w.field("catalog_context/type", "application/json")
        w.field("catalog_context/file_name", "lamefair-catalog-context.json")
        w.field(
            "catalog_context/description",
            "Project, proposal, sample, experiment and measurement as the lamefair catalog "
            "recorded them.",
        )
        w.field("catalog_context/data", _json_bytes(context))


def _write_mapping_note(w: _Writer, choice: MappingChoice) -> None:
    """Which mapping wrote the instrument fields, and why: a reader can tell a microscope that the
    file names from one that an operator's instrument pair added."""
    mapping = choice.mapping
    kind = "instrument pair" if mapping.extends else "flavour mapping"
    text = (
        f"Instrument fields written by the {kind} {mapping.id} ({mapping.label}): {choice.reason}."
    )
    if mapping.extends:
        text += f" It adds a site's microscope to the flavour mapping {mapping.extends}."
    for warning in choice.warnings:
        text += f" WARNING: {warning}."
    w.group("conversion_mapping", "NXnote")
    w.field("conversion_mapping/type", "application/json")
    w.field("conversion_mapping/file_name", mapping.path.name)
    w.field("conversion_mapping/description", text)
    w.field(
        "conversion_mapping/data",
        _json_bytes(
            {
                "mapping": mapping.id,
                "label": mapping.label,
                "kind": kind,
                "extends": mapping.extends,
                "origin": str(choice.origin),
                "reason": choice.reason,
                "file_flavour": choice.flavour,
                "mapping_flavours": list(mapping.flavours),
                "warnings": list(choice.warnings),
            }
        ),
    )


def _write_time_note(w: _Writer, mapped: MappedValues) -> None:
    """In which zone the vendor's zone-less times were read, why, and what was odd about them."""
    if not mapped.readings:
        return  # the file's times carry their offset (or there are none): nothing was assumed
    zones = {zone for zone, _reading in mapped.readings.values()}
    remarks = [r.remark for _z, r in mapped.readings.values() if r.remark]
    text = "; ".join(f"vendor times read in {z.name}: {z.reason}" for z in sorted(zones, key=str))
    text = f"{text[0].upper()}{text[1:]}. {' '.join(f'{r}.' for r in remarks)} {RULE}".replace(
        "  ", " "
    )
    w.group("local_time", "NXnote")
    w.field("local_time/type", "application/json")
    w.field("local_time/description", text)
    w.field(
        "local_time/data",
        _json_bytes(
            {
                "rule": RULE,
                "times": {
                    target: {
                        "stated": reading.stated,
                        "written": reading.written,
                        "zone": zone.name,
                        "zone_reason": zone.reason,
                        "remark": reading.remark or None,
                    }
                    for target, (zone, reading) in sorted(mapped.readings.items())
                },
            }
        ),
    )


def _write_frames(w: _Writer) -> None:
    """The conventions this file follows (NXem recommends stating them)."""
    w.group("consistent_rotations", "NXparameters")
    for name, value in (
        ("rotation_handedness", "counter_clockwise"),
        ("rotation_convention", "passive"),
        ("euler_angle_convention", "zxz"),
        ("axis_angle_convention", "rotation_angle_on_interval_zero_to_pi"),
        ("sign_convention", "p_plus_one"),
    ):
        w.field(f"consistent_rotations/{name}", value)
    for frame in ("processing_reference_frame", "sample_reference_frame"):
        w.group(frame, "NXcoordinate_system")
        w.field(f"{frame}/type", "cartesian")
        w.field(f"{frame}/origin", "front_top_left")
        for axis, vector, direction in (
            ("x", [1.0, 0.0, 0.0], "east"),
            ("y", [0.0, 1.0, 0.0], "south"),
            ("z", [0.0, 0.0, 1.0], "in"),
        ):
            w.field(f"{frame}/{axis}", np.array(vector), units="m")
            w.field(f"{frame}/{axis}_direction", direction)


def _write_instrument(w: _Writer, values: dict[str, Any], lacking: list[str]) -> None:
    """Mapped targets, group by group, honouring NXem's conditional requirements."""
    values = dict(values)
    for name in ("instrument.vendor", "instrument.model"):
        if name not in values:
            values[name] = UNKNOWN
            lacking.append(f"{name}: not recorded in the file; choose an instrument pair")
    kind = values.get("instrument.type")
    if kind is not None:
        allowed = TARGETS["instrument.type"].choices
        if str(kind).lower() in allowed:
            values["instrument.type"] = str(kind).lower()
        else:
            del values["instrument.type"]
            lacking.append(f"instrument.type: {kind!r} is not one of {', '.join(allowed)}")
    blocked: set[str] = set()
    for group, needed in GROUP_REQUIREMENTS.items():
        missing = [name for name in needed if name not in values]
        if missing:
            blocked.add(group)
            if any(TARGETS[n].path.startswith(group) for n in values if n not in needed) or (
                set(needed) - set(missing)
            ):
                lacking.append(f"{group}: not written, the mapping gives no {', '.join(missing)}")

    position: dict[int, float] = {}
    stage_path = "measurement/event1/instrument/stage"
    for name in sorted(values):
        target = TARGETS[name]
        if any(target.path.startswith(group + "/") for group in blocked):
            continue
        if target.path.startswith(stage_path + "/position["):
            position[int(target.path[-2])] = values[name]
            continue
        if "@" in target.path:
            continue  # attributes are set below, once their field exists
        attrs = {"units": target.unit} if target.unit else {}
        w.field(target.path, _typed(values[name], target.kind), **attrs)
    for name in sorted(values):
        target = TARGETS[name]
        if "@" not in target.path or any(target.path.startswith(g + "/") for g in blocked):
            continue
        field_path, _, attribute = target.path.partition("@")
        w.entry[field_path].attrs[attribute] = _typed(values[name], target.kind)
    w.group("measurement/instrument/ebeam_column")  # NXem requires the column group
    if position and stage_path not in blocked:
        w.field(f"{stage_path}/position", np.array([position[i] for i in range(3)]), units="m")
    if "event.voltage" not in values:
        lacking.append("event.voltage: the accelerating voltage is unknown")


def _typed(value: Any, kind: str) -> Any:
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    return str(value)


def _write_provenance(w: _Writer, tiff: TiffSource, sha256: str) -> None:
    w.group(f"{IMAGE_GROUP}/process", "NXprocess")
    w.group(f"{IMAGE_GROUP}/process/input", "NXnote")
    w.field(f"{IMAGE_GROUP}/process/input/type", "image/tiff")
    w.field(f"{IMAGE_GROUP}/process/input/file_name", tiff.path.name)
    w.field(f"{IMAGE_GROUP}/process/input/checksum", sha256)
    w.field(f"{IMAGE_GROUP}/process/input/algorithm", "SHA-256")
    w.field(f"{IMAGE_GROUP}/process/input/context", input_context(tiff))
    w.field(f"{IMAGE_GROUP}/process/detector_identifier", "detector1")
