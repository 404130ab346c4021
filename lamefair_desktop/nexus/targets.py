"""The NXem fields a mapping may fill, by short name, with where they go and in which SI unit.

Mappings name targets (`event.voltage`), never HDF5 paths: the writer owns the file layout, so a
mapping cannot create an undocumented field that would make the entry invalid.
Paths are relative to the NXentry; the group classes along them are in GROUP_CLASSES.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    kind: str  # "float", "int", "str", "bool"
    unit: str | None = None  # SI unit written as @units (None: no units)
    description: str = ""
    choices: tuple[str, ...] = ()  # a closed enumeration of NXem, when there is one


_I = "measurement/instrument"
_E = "measurement/event1"
_EI = f"{_E}/instrument"

TARGETS: dict[str, Target] = {
    t.name: t
    for t in [
        Target("instrument.name", f"{_I}/name", "str", description="instrument name"),
        Target("instrument.location", f"{_I}/location", "str"),
        Target(
            "instrument.type",
            f"{_I}/type",
            "str",
            description="sem, fib (dual-beam FIB-SEM) or tem",
            choices=("sem", "fib", "tem"),
        ),
        Target("instrument.vendor", f"{_I}/fabrication/vendor", "str"),
        Target("instrument.model", f"{_I}/fabrication/model", "str"),
        Target("instrument.serial_number", f"{_I}/fabrication/serial_number", "str"),
        Target("instrument.software", f"{_I}/program1/program", "str"),
        Target("instrument.software_version", f"{_I}/program1/program@version", "str"),
        Target(
            "column.emitter_type",
            f"{_I}/ebeam_column/electron_source/emitter_type",
            "str",
            description="thermionic, schottky, cold_field_emission",
        ),
        Target("detector.name", f"{_I}/detector1/name", "str"),
        Target("detector.vendor", f"{_I}/detector1/fabrication/vendor", "str"),
        Target("detector.model", f"{_I}/detector1/fabrication/model", "str"),
        Target("detector.serial_number", f"{_I}/detector1/fabrication/serial_number", "str"),
        Target("event.start_time", f"{_E}/start_time", "str", description="ISO 8601"),
        Target("event.end_time", f"{_E}/end_time", "str", description="ISO 8601"),
        Target("event.operation_mode", f"{_EI}/ebeam_column/operation_mode", "str"),
        Target("event.voltage", f"{_EI}/ebeam_column/electron_source/voltage", "float", "V"),
        Target(
            "event.emission_current",
            f"{_EI}/ebeam_column/electron_source/emission_current",
            "float",
            "A",
        ),
        Target(
            "event.extraction_voltage",
            f"{_EI}/ebeam_column/electron_source/extraction_voltage",
            "float",
            "V",
        ),
        Target(
            "event.filament_current",
            f"{_EI}/ebeam_column/electron_source/filament_current",
            "float",
            "A",
        ),
        Target(
            "event.scan_schema",
            f"{_EI}/ebeam_column/scan_controller/scan_schema",
            "str",
            description="e.g. raster",
        ),
        Target("event.dwell_time", f"{_EI}/ebeam_column/scan_controller/dwell_time", "float", "s"),
        Target("event.magnification", f"{_EI}/optics/magnification", "float", None),
        Target("event.camera_length", f"{_EI}/optics/camera_length", "float", "m"),
        Target("event.working_distance", f"{_EI}/optics/working_distance", "float", "m"),
        Target("event.field_of_view", f"{_EI}/optics/field_of_view", "float", "m"),
        Target("event.probe_current", f"{_EI}/optics/probe_current", "float", "A"),
        Target("event.defocus", f"{_EI}/optics/defocus", "float", "m"),
        Target("event.detector_mode", f"{_EI}/detector1/operation_mode", "str"),
        Target("event.stage.x", f"{_EI}/stage/position[0]", "float", "m"),
        Target("event.stage.y", f"{_EI}/stage/position[1]", "float", "m"),
        Target("event.stage.z", f"{_EI}/stage/position[2]", "float", "m"),
        Target("event.stage.tilt1", f"{_EI}/stage/tilt1", "float", "rad"),
        Target("event.stage.tilt2", f"{_EI}/stage/tilt2", "float", "rad"),
        Target("event.stage.rotation", f"{_EI}/stage/rotation", "float", "rad"),
        Target("event.stage.design", f"{_EI}/stage/design", "str"),
    ]
}

GROUP_CLASSES: dict[str, str] = {
    "measurement": "NXem_measurement",
    _I: "NXem_instrument",
    f"{_I}/fabrication": "NXfabrication",
    f"{_I}/program1": "NXprogram",
    f"{_I}/ebeam_column": "NXebeam_column",
    f"{_I}/ebeam_column/electron_source": "NXsource",
    f"{_I}/detector1": "NXdetector",
    f"{_I}/detector1/fabrication": "NXfabrication",
    _E: "NXem_event_data",
    _EI: "NXem_instrument",
    f"{_EI}/ebeam_column": "NXebeam_column",
    f"{_EI}/ebeam_column/electron_source": "NXsource",
    f"{_EI}/ebeam_column/scan_controller": "NXscan_controller",
    f"{_EI}/optics": "NXem_optical_system",
    f"{_EI}/detector1": "NXdetector",
    f"{_EI}/stage": "NXmanipulator",
}

# NXem's conditional requirements, observed with the validator: a group may only be written when
# these targets are all known (otherwise its presence alone makes the entry invalid).
GROUP_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    f"{_I}/program1": ("instrument.software", "instrument.software_version"),
    f"{_I}/ebeam_column/electron_source": ("column.emitter_type",),
    f"{_EI}/ebeam_column/scan_controller": ("event.scan_schema",),
    f"{_I}/detector1": ("detector.name",),
    f"{_EI}/stage": (
        "event.stage.x",
        "event.stage.y",
        "event.stage.z",
        "event.stage.rotation",
        "event.stage.tilt1",
        "event.stage.tilt2",
    ),
}

# NXem requires an instrument with a vendor and a model as soon as there is a measurement (and the
# image lives in the measurement). When neither the file nor the mapping knows them, the writer
# says so in the file rather than leaving the image out.
UNKNOWN = "unknown (not recorded in the source file; choose an instrument pair)"
