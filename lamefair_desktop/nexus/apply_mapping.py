"""Apply an instrument mapping to a file's flattened metadata: each target's value in SI units,
vendor times read in the instrument's zone (by name, so the offset is the one in force at the
acquisition instant), and what could not be filled, in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lamefair_desktop.nexus.local_time import Reading, ZoneChoice, computer_zone, localise
from lamefair_desktop.nexus.mapping import Entry, Mapping
from lamefair_desktop.nexus.targets import TARGETS
from lamefair_desktop.nexus.units import UnknownUnit, convert

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d %b %Y", "%Y/%m/%d", "%d-%b-%Y")
_TIME_FORMATS = ("%H:%M:%S", "%I:%M:%S %p", "%H:%M", "%H:%M:%S.%f")


@dataclass
class MappedValues:
    """Target values in SI units, plus what could not be filled and why."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Vendor times read without a zone: target -> (zone used, reading).
    readings: dict[str, tuple[ZoneChoice, Reading]] = field(default_factory=dict)


def instrument_zone(mapping: Mapping, given: ZoneChoice | None = None) -> ZoneChoice:
    """The zone of the instrument's clock: given for this conversion, else the instrument
    pair's, else this computer's (conversion usually runs on the microscope PC)."""
    if given is not None:
        return given
    if mapping.timezone:
        return ZoneChoice(
            mapping.timezone, f"the time zone of the instrument pair {mapping.id} (its setting)"
        )
    return computer_zone()


def apply(
    mapping: Mapping, metadata: dict[str, Any], zone: ZoneChoice | None = None
) -> MappedValues:
    """Fill the targets; vendor times without a zone are read in `zone` (see `instrument_zone`),
    looked up only when such a time is met."""
    result = MappedValues()
    for name, value in mapping.constants.items():
        result.values[name] = value
    zones = _Zones(mapping, zone)
    for entry in mapping.entries:
        try:
            value = _entry_value(entry, metadata, zones)
        except (ValueError, TypeError, UnknownUnit) as exc:
            result.problems.append(f"{entry.target}: {exc}")
            continue
        if isinstance(value, tuple):
            used, reading = value
            result.readings[entry.target] = value
            value = reading.written
        if value is not None:
            result.values[entry.target] = value
    return result


class _Zones:
    """The zone for a time transform: the mapping's fixed one (a vendor that writes UTC), else
    the instrument's, resolved once."""

    def __init__(self, mapping: Mapping, given: ZoneChoice | None) -> None:
        self._mapping, self._given, self._instrument = mapping, given, None

    def __call__(self, transform: dict[str, Any]) -> ZoneChoice:
        fixed = transform.get("timezone", "local")
        if fixed != "local":
            return ZoneChoice(
                fixed, f"the mapping {self._mapping.id} says the vendor writes {fixed}"
            )
        if self._instrument is None:
            self._instrument = instrument_zone(self._mapping, self._given)
        return self._instrument


def _first_present(entry: Entry, metadata: dict[str, Any]) -> tuple[str | None, Any]:
    for key in entry.sources:
        value = metadata.get(key)
        if value not in (None, ""):
            return key, value
    return None, None


def _entry_value(entry: Entry, metadata: dict[str, Any], zones: _Zones) -> Any:
    target = TARGETS[entry.target]
    transform = entry.transform or {}
    kind = transform.get("kind")
    unit = entry.unit
    if kind == "datetime":
        return _read_local(_combine_datetime(transform, metadata), transform, zones)
    if kind == "packed_datetime":
        return _read_local(_packed_datetime(transform, metadata), transform, zones)
    key, value = _first_present(entry, metadata)
    if value is None:
        return entry.default
    if kind == "pick":
        items = value.split(transform["separator"]) if "separator" in transform else value
        if not isinstance(items, list | tuple):
            raise ValueError(f"{key} is not a list")
        value = items[transform["index"]]
    elif kind == "lookup":
        table = transform["values"]
        if str(value) not in table:
            raise ValueError(f"{key} = {value!r} is not in the mapping's lookup table")
        value = table[str(value)]
    elif kind == "unix_time":
        moment = datetime.fromtimestamp(float(value), UTC)
        return moment.replace(microsecond=0).isoformat()
    elif kind == "iso8601":
        moment = datetime.fromisoformat(_trim_fraction(str(value)))
        if moment.tzinfo is None:
            return _read_local(moment, transform, zones)
        return moment.replace(microsecond=0).isoformat()
    elif kind == "number_in_text":
        match = _NUMBER.search(str(value))
        if not match:
            raise ValueError(f"{key} = {value!r} holds no number")
        text_unit = str(value)[match.end() :].strip().split(" ")[0] if unit is None else unit
        value, unit = float(match.group()), text_unit or None
    data_type = entry.type or target.kind
    if data_type in ("float", "int"):
        number = float(value)
        if entry.scale is not None:
            number *= entry.scale
        if unit and target.unit:
            number = convert(number, unit, target.unit)
        return int(number) if data_type == "int" else number
    if data_type == "bool":
        return str(value).strip().lower() in ("1", "true", "yes", "on")
    return str(value)


def _read_local(
    naive: datetime | None, transform: dict[str, Any], zones: _Zones
) -> tuple[ZoneChoice, Reading] | None:
    if naive is None:
        return None
    zone = zones(transform)
    return zone, localise(naive, zone)


def _trim_fraction(text: str) -> str:
    """Python reads at most 6 fractional digits; JEOL writes 7 (`07:17:25.7725342+09:00`)."""
    return re.sub(r"(\.\d{6})\d+", r"\1", text.strip().replace("Z", "+00:00"))


def _combine_datetime(transform: dict[str, Any], metadata: dict[str, Any]) -> datetime | None:
    date_text, time_text = metadata.get(transform["date"]), metadata.get(transform["time"])
    if date_text in (None, "") or time_text in (None, ""):
        return None
    date = _parse(str(date_text), transform.get("date_format"), _DATE_FORMATS, "date")
    time = _parse(str(time_text), transform.get("time_format"), _TIME_FORMATS, "time")
    return datetime.combine(date.date(), time.time())


def _packed_datetime(transform: dict[str, Any], metadata: dict[str, Any]) -> datetime | None:
    packed, seconds = metadata.get(transform["date"]), metadata.get(transform["time"])
    if not isinstance(packed, int) or not isinstance(seconds, int) or packed <= 0:
        return None
    day = datetime(packed >> 16, (packed >> 8) & 0xFF, packed & 0xFF)
    return day + timedelta(seconds=seconds)


def _parse(text: str, fmt: str | None, candidates: tuple[str, ...], what: str) -> datetime:
    for candidate in (fmt,) if fmt else candidates:
        try:
            return datetime.strptime(text.strip(), candidate)
        except ValueError:
            continue
    raise ValueError(f"{what} {text!r} is not in a known format")
