"""Notes that make the NXem file explain itself: the source file and its checksum, the vendor's
complete header, the catalog context, which mapping wrote the instrument fields and why, in which
zone vendor times were read, the conventions the file follows, and the image's provenance.

Vendor extras never become ad-hoc fields (one undocumented field makes the entry invalid): they
go into NXnote groups as JSON (`NXnote/data` is NX_BINARY, hence bytes).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from lamefair_desktop.nexus.apply_mapping import MappedValues
from lamefair_desktop.nexus.entry_sections import EntryWriter
from lamefair_desktop.nexus.image_data import input_context
from lamefair_desktop.nexus.local_time import RULE
from lamefair_desktop.nexus.mapping import MappingChoice


def json_bytes(value: Any) -> np.bytes_:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return np.bytes_(text.encode("utf-8"))  # NXnote/data is NX_BINARY


def write_source_notes(w: EntryWriter, source: Any, context: dict) -> None:
    """The source file (its checksum comes last, `write_checksums`), its header, the context."""
    w.group("source_file", "NXnote")
    w.field("source_file/type", source.media_type)
    w.field("source_file/file_name", source.path.name)
    w.field("source_file/algorithm", "SHA-256")
    w.field("source_file/description", source.format_label)

    w.group("vendor_metadata", "NXnote")
    w.field("vendor_metadata/type", "application/json")
    w.field("vendor_metadata/file_name", source.path.name)
    w.field(
        "vendor_metadata/description",
        f"Complete header of the source file ({source.format_label}), flattened to dotted keys.",
    )
    w.field("vendor_metadata/data", json_bytes(source.metadata))

    if any(context.values()):
        w.group("catalog_context", "NXnote")
        w.field("catalog_context/type", "application/json")
        w.field("catalog_context/file_name", "lamefair-catalog-context.json")
        w.field(
            "catalog_context/description",
            "Project, proposal, sample, experiment and measurement as the lamefair catalog "
            "recorded them.",
        )
        w.field("catalog_context/data", json_bytes(context))


def write_mapping_note(w: EntryWriter, choice: MappingChoice) -> None:
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
        json_bytes(
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


def write_time_note(w: EntryWriter, mapped: MappedValues) -> None:
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
        json_bytes(
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


def write_conventions(w: EntryWriter) -> None:
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


def write_provenance(w: EntryWriter, image_path: str, image: Any, detector: str) -> None:
    """Where the image came from: the source file and what of it the image holds (the checksum
    comes last, `write_checksums`)."""
    w.group(f"{image_path}/process", "NXprocess")
    w.group(f"{image_path}/process/input", "NXnote")
    w.field(f"{image_path}/process/input/type", image.media_type)
    w.field(f"{image_path}/process/input/file_name", image.path.name)
    w.field(f"{image_path}/process/input/algorithm", "SHA-256")
    w.field(f"{image_path}/process/input/context", input_context(image))
    w.field(f"{image_path}/process/detector_identifier", detector)


def write_checksums(w: EntryWriter, image_paths: list[str], sha256: str) -> None:
    """The source's SHA-256 in the source note and each image's provenance. Written last: the
    hash runs on another thread while everything else is written, and only these wait for it."""
    w.field("source_file/checksum", sha256)
    for image_path in image_paths:
        w.field(f"{image_path}/process/input/checksum", sha256)
