"""Vendor clock times: naive wall-clock readings turned into instants with the offset in force then.

Microscope software writes local time without a zone. The zone is a property of the instrument (the
microscope PC's clock), named by IANA (`Europe/Berlin`), never an offset: the offset of 13 June
2016 in Berlin is +02:00 whenever and wherever the file is converted. Nothing here reads the current
date or the current offset, so a conversion gives the same bytes in summer and in winter.

Two wall times need a rule:
- an hour that occurs twice (autumn, clocks go back): read as its first occurrence (`fold=0`, still
  summer time); the other reading is stated in the remark;
- an hour that never happens (spring, clocks go forward): the clock was most likely not yet set
  forward, so it is read with the offset before the change and written with the offset in force
  at that instant (02:30 becomes 03:30+02:00 in Berlin: the same instant as 02:30+01:00).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from lamefair_desktop.home.time_zones import zone_info

RULE = (
    "Vendor times without a zone are read as wall-clock time in the zone named here, with the UTC "
    "offset in force at that instant (IANA time zone database). A time that occurs twice (clocks "
    "set back) is read as its first occurrence; a time that does not exist (clocks set forward) "
    "is read with the offset before the change."
)


@dataclass(frozen=True)
class ZoneChoice:
    """The instrument's time zone (an IANA name) and why it was assumed, in words."""

    name: str
    reason: str

    def __post_init__(self) -> None:
        zone_info(self.name)  # an unknown name fails here, before any file is written


def computer_zone() -> ZoneChoice:
    """This computer's zone by IANA name: TZ when it names one, else the system's setting.

    `tzlocal` reads /etc/localtime and /etc/timezone on Linux and macOS and maps the Windows zone
    (the microscope PCs' usual system) to its IANA name. TZ is read here first because tzlocal
    remembers its first answer for the life of the process.
    """
    name = _iana_from_tz_variable(os.environ.get("TZ", ""))
    if name:
        return ZoneChoice(name, f"the converting computer's time zone (TZ={name})")
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception:  # noqa: BLE001 - tzlocal raises its own errors on odd configurations
        name = None
    if name and _is_zone(name):
        return ZoneChoice(name, "the converting computer's time zone (system setting)")
    return ZoneChoice(
        "UTC",
        "the converting computer's time zone has no IANA name that could be read, so UTC was "
        "assumed; set the instrument pair's time zone to correct this",
    )


def _iana_from_tz_variable(value: str) -> str | None:
    value = value.strip().removeprefix(":")
    if "zoneinfo/" in value:  # TZ=/usr/share/zoneinfo/Europe/Berlin
        value = value.rpartition("zoneinfo/")[2]
    return value if value and _is_zone(value) else None


def _is_zone(name: str) -> bool:
    try:
        zone_info(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Reading:
    """One vendor time as stated and as written, with a remark when the wall time was odd."""

    stated: str
    written: str
    remark: str = ""


def localise(naive: datetime, zone: ZoneChoice) -> Reading:
    """The instant a naive wall-clock reading denotes in `zone` (see the module's rules)."""
    info = zone_info(zone.name)
    naive = naive.replace(tzinfo=None, microsecond=0)
    first, second = naive.replace(tzinfo=info, fold=0), naive.replace(tzinfo=info, fold=1)
    stated = naive.isoformat(sep=" ")
    if first.utcoffset() == second.utcoffset():
        return Reading(stated, first.isoformat())
    exists = first.astimezone(UTC).astimezone(info).replace(tzinfo=None) == naive
    if exists:
        return Reading(
            stated,
            first.isoformat(),
            f"{stated} occurs twice in {zone.name} (clocks set back); the first occurrence "
            f"({_offset(first)}) was assumed, the second would be {second.isoformat()}",
        )
    written = first.astimezone(UTC).astimezone(info)
    return Reading(
        stated,
        written.isoformat(),
        f"{stated} does not exist in {zone.name} (clocks set forward); it was read with the "
        f"offset before the change ({_offset(first)}), the instant written as "
        f"{written.isoformat()}",
    )


def _offset(moment: datetime) -> str:
    return moment.isoformat()[-6:]
