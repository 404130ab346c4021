"""IANA time-zone names as lamefair checks them: settings, watch rules, the upload dialog and the
converter all accept the same names and refuse the rest with the same words (no Qt)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_info(name: str) -> ZoneInfo:
    """The zone named `name`; ValueError naming it and the expected form otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (expected an IANA name such as Europe/Berlin)"
        ) from None
