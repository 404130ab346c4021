"""Instrument mappings: JSON data (`mappings/*.json`, checked against `mapping.schema.json`) that
say which flattened vendor key fills which NXem target, in which unit, with which transform.

Two kinds, so that a file never claims a microscope it does not name:
- a flavour mapping (`flavours` listed, no `extends`) writes only what a file of that flavour
  states (the camera, the software, the beam); detection picks it from the file;
- an instrument pair (`extends` a flavour mapping) adds one site's microscope identity (vendor,
  model, stage design, the clock's time zone); only an operator's choice brings it in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lamefair_desktop.nexus.errors import MappingError
from lamefair_desktop.nexus.schema_memo import passed_before, remember_passed, verdict_key
from lamefair_desktop.nexus.targets import TARGETS
from lamefair_desktop.nexus.units import is_known, to_si
from lamefair_desktop.resources import mappings_dir

if TYPE_CHECKING:
    import jsonschema

SCHEMA_FILE = "mapping.schema.json"


@dataclass(frozen=True)
class Entry:
    target: str
    sources: tuple[str, ...] = ()
    unit: str | None = None
    type: str | None = None
    default: Any = None
    scale: float | None = None
    transform: dict[str, Any] | None = None


@dataclass(frozen=True)
class Mapping:
    id: str
    label: str
    path: Path
    description: str = ""
    flavours: tuple[str, ...] = ()
    signal_kind: str = "image"
    constants: dict[str, Any] = field(default_factory=dict)
    entries: tuple[Entry, ...] = ()
    extends: str | None = None  # the flavour mapping an instrument pair builds on
    timezone: str | None = None  # IANA zone of the instrument's clock (instrument pairs)

    def fits(self, flavour: str) -> bool:
        """Whether this mapping was written for files of `flavour` (the generic one fits all)."""
        return not self.flavours or "generic" in self.flavours or flavour in self.flavours


class PairOrigin(StrEnum):
    """Why a mapping was used; written into the NXem with the mapping's id."""

    DETECTED = "detected"  # no pair given: the file's flavour chose its flavour mapping
    CHOSEN = "chosen"  # the operator chose it for this conversion (`lamefair convert --pair`)
    REMEMBERED = "remembered"  # the pair last used for the experiment, proposed again
    COMPUTER = "computer default"  # this PC's instrument pair (settings), no --pair given
    WATCH_RULE = "watch rule"
    MEASUREMENT = "measurement"  # the pair recorded with the measurement in the catalog


_ORIGIN_WORDS = {
    PairOrigin.DETECTED: "detected: no instrument pair was chosen, so the mapping of the file's "
    "flavour ({flavour}) was used; it writes only what the file states",
    PairOrigin.CHOSEN: "chosen by the operator for this conversion",
    PairOrigin.REMEMBERED: "remembered: the pair last used for this experiment",
    PairOrigin.COMPUTER: "this computer's default instrument pair (lamefair settings)",
    PairOrigin.WATCH_RULE: "set by the watch rule of the folder the file arrived in",
    PairOrigin.MEASUREMENT: "the instrument pair recorded with the measurement in the catalog "
    "(chosen at upload or by a watch rule)",
}


@dataclass(frozen=True)
class MappingChoice:
    """The mapping used for one file, why, and what is wrong with that choice."""

    mapping: Mapping
    origin: PairOrigin
    flavour: str
    warnings: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return _ORIGIN_WORDS[self.origin].format(flavour=self.flavour)


def choose_mapping(
    registry: MappingRegistry,
    flavour: str,
    pair: str | None,
    origin: PairOrigin = PairOrigin.CHOSEN,
) -> MappingChoice:
    """The flavour mapping when no pair is given; else the pair, warned about if it does not fit
    the file (an SEM mapping on a TEM camera's file writes the wrong microscope)."""
    if not pair:
        return MappingChoice(registry.for_flavour(flavour), PairOrigin.DETECTED, flavour)
    mapping = registry.get(pair)
    warnings = ()
    if not mapping.fits(flavour):
        warnings = (
            f"the mapping {mapping.id} ({mapping.label}) is made for "
            f"{', '.join(mapping.flavours)} files, but this file is {flavour}: its values may "
            "be wrong or missing; choose a pair for this instrument",
        )
    return MappingChoice(mapping, origin, flavour, warnings)


@cache
def _schema_bytes(path: Path) -> bytes:
    return path.read_bytes()


@cache
def _validator(path: Path) -> jsonschema.Draft202012Validator:
    import jsonschema  # 70 ms to import: only when a mapping was not checked before

    return jsonschema.Draft202012Validator(json.loads(_schema_bytes(path).decode("utf-8")))


def load_mapping(path: Path, schema_path: Path | None = None) -> Mapping:
    """Parse and check one mapping file; MappingError names the file and the entry.

    `schema_path`: the shipped schema's path, when the caller has it (finding it resolves the
    install's folders, ~0.2 ms: a registry looks it up once for all its files)."""
    try:
        content = path.read_bytes()
        raw = json.loads(content.decode("utf-8"))
    except OSError as exc:
        raise MappingError(f"Mapping {path.name} cannot be read: {exc.strerror}.") from exc
    except ValueError as exc:
        raise MappingError(f"Mapping {path.name} is not valid JSON: {exc}.") from exc
    schema_path = schema_path or mappings_dir() / SCHEMA_FILE
    key = verdict_key(_schema_bytes(schema_path), content)
    if not passed_before(key):
        validator = _validator(schema_path)
        errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.absolute_path))
        if errors:
            error = errors[0]
            where = _describe_location(raw, list(error.absolute_path))
            raise MappingError(f"Mapping {path.name}, {where}: {error.message}.")
    # The checks below depend on this code's targets and units, not on the file alone: always.
    entries = []
    for index, item in enumerate(raw.get("entries", [])):
        where = f"entry {index + 1} ({item['target']})"
        target = TARGETS.get(item["target"])
        if target is None:
            raise MappingError(
                f"Mapping {path.name}, {where}: unknown target {item['target']!r}; "
                f"known targets: {', '.join(sorted(TARGETS))}."
            )
        unit = item.get("unit")
        if unit is not None and not is_known(unit):
            raise MappingError(f"Mapping {path.name}, {where}: unknown unit {unit!r}.")
        if unit and target.unit and to_si(1, unit)[1] != target.unit:
            raise MappingError(
                f"Mapping {path.name}, {where}: unit {unit!r} cannot become {target.unit!r}."
            )
        sources = item.get("source", ())
        entries.append(
            Entry(
                target=item["target"],
                sources=(sources,) if isinstance(sources, str) else tuple(sources),
                unit=unit,
                type=item.get("type"),
                default=item.get("default"),
                scale=item.get("scale"),
                transform=item.get("transform"),
            )
        )
    for name in raw.get("constants", {}):
        if name not in TARGETS:
            raise MappingError(f"Mapping {path.name}, constants: unknown target {name!r}.")
    remember_passed(key)
    return Mapping(
        id=raw["id"],
        label=raw["label"],
        path=path,
        description=raw.get("description", ""),
        flavours=tuple(raw.get("flavours", ())),
        signal_kind=raw.get("signal_kind", "image"),
        constants=dict(raw.get("constants", {})),
        entries=tuple(entries),
        extends=raw.get("extends"),
        timezone=raw.get("timezone"),
    )


def _extend(pair: Mapping, base: Mapping) -> Mapping:
    """An instrument pair on top of its flavour mapping: the pair's constants and entries win."""
    own = {entry.target for entry in pair.entries} | set(pair.constants)
    return Mapping(
        id=pair.id,
        label=pair.label,
        path=pair.path,
        description=pair.description,
        flavours=base.flavours,
        signal_kind=base.signal_kind,
        constants={k: v for k, v in base.constants.items() if k not in own} | pair.constants,
        entries=tuple(e for e in base.entries if e.target not in own) + pair.entries,
        extends=base.id,
        timezone=pair.timezone,
    )


def _describe_location(raw: dict, path: list) -> str:
    if len(path) >= 2 and path[0] == "entries" and isinstance(path[1], int):
        try:
            target = raw["entries"][path[1]].get("target", "?")
        except (IndexError, AttributeError):
            target = "?"
        rest = ".".join(str(p) for p in path[2:])
        return f"entry {path[1] + 1} ({target}){' field ' + rest if rest else ''}"
    return "top level" if not path else f"field {'.'.join(str(p) for p in path)}"


class MappingRegistry:
    """All mappings of a folder, in file-name order; the GUI lists `pairs()`."""

    def __init__(self, mappings: list[Mapping]) -> None:
        self._by_id = {m.id: m for m in mappings}

    @classmethod
    def load(cls, folder: Path | None = None) -> MappingRegistry:
        shipped = mappings_dir()
        folder = folder or shipped
        schema_path = shipped / SCHEMA_FILE
        mappings = []
        seen: dict[str, Path] = {}
        for path in sorted(folder.glob("*.json")):
            if path.name == SCHEMA_FILE:
                continue
            mapping = load_mapping(path, schema_path)
            if mapping.id in seen:
                raise MappingError(
                    f"Mappings {seen[mapping.id].name} and {path.name} both use id {mapping.id!r}."
                )
            seen[mapping.id] = path
            mappings.append(mapping)
        by_id = {m.id: m for m in mappings}
        for index, mapping in enumerate(mappings):
            if mapping.extends is None:
                continue
            base = by_id.get(mapping.extends)
            if base is None or base.extends is not None:
                raise MappingError(
                    f"Mapping {mapping.path.name}: extends {mapping.extends!r}, which is not a "
                    "flavour mapping."
                )
            mappings[index] = _extend(mapping, base)
        return cls(mappings)

    def pairs(self) -> list[tuple[str, str]]:
        return [(m.id, m.label) for m in self._by_id.values()]

    def get(self, pair: str) -> Mapping:
        try:
            return self._by_id[pair]
        except KeyError:
            raise MappingError(
                f"Unknown instrument pair {pair!r}; known: {', '.join(self._by_id)}."
            ) from None

    def for_flavour(self, flavour: str) -> Mapping:
        """The flavour mapping, never an instrument pair: detection knows no site."""
        for mapping in self._by_id.values():
            if mapping.extends is None and flavour in mapping.flavours:
                return mapping
        return self.get("generic")


@cache
def default_registry() -> MappingRegistry:
    return MappingRegistry.load()
