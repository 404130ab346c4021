"""Conversion of vendor units to the SI units NXem expects (V, m, s, rad, A, Pa, 1/m).

A small explicit table: vendor files use a handful of spellings, and an unknown unit must be an
error that names it rather than a silent guess.
"""

from __future__ import annotations

import math

# unit spelling -> (SI unit, factor to multiply by)
_TABLE: dict[str, tuple[str, float]] = {}


def _add(si: str, factor: float, *spellings: str) -> None:
    for spelling in spellings:
        _TABLE[spelling] = (si, factor)


_add("V", 1.0, "V", "volt", "volts")
_add("V", 1e3, "kV", "kv", "KV")
_add("V", 1e6, "MV")
_add("m", 1.0, "m", "meter", "metre")
_add("m", 1e-2, "cm")
_add("m", 1e-3, "mm", "millimeter")
_add("m", 1e-6, "um", "µm", "μm", "micron", "microns", "micrometer", "micrometre")
_add("m", 1e-9, "nm", "nanometer", "nanometre")
_add("m", 1e-12, "pm")
_add("m", 1e-10, "Å", "\u212b", "angstrom", "Angstrom")
_add("1/m", 1.0, "1/m", "m^-1")
_add("1/m", 1e9, "1/nm", "nm^-1", "1 / nm")
_add("1/m", 1e10, "1/Å", "1/angstrom")
_add("s", 1.0, "s", "sec", "second", "seconds")
_add("s", 1e-3, "ms", "msec")
_add("s", 1e-6, "us", "µs", "μs", "usec")
_add("s", 1e-9, "ns")
_add("rad", 1.0, "rad", "radian", "radians")
_add("rad", 1e-3, "mrad")
_add("rad", math.pi / 180, "deg", "°", "degree", "degrees")
_add("A", 1.0, "A", "amp", "ampere")
_add("A", 1e-3, "mA")
_add("A", 1e-6, "uA", "µA", "μA")
_add("A", 1e-9, "nA")
_add("A", 1e-12, "pA")
_add("Pa", 1.0, "Pa")
_add("Pa", 100.0, "mbar", "hPa")
_add("Pa", 133.322368, "Torr", "torr")
_add("", 1.0, "", "x", "X", "1")


class UnknownUnit(ValueError):
    pass


def to_si(value: float, unit: str) -> tuple[float, str]:
    """`(value in SI, SI unit)`; UnknownUnit names a spelling we do not know."""
    key = unit.strip()
    if key not in _TABLE:
        raise UnknownUnit(f"unknown unit {unit!r}")
    si, factor = _TABLE[key]
    return value * factor, si


def convert(value: float, unit: str, target: str) -> float:
    """`value` in `unit` expressed in `target` (both known, same dimension)."""
    si_value, si = to_si(value, unit)
    _, target_si = to_si(1.0, target)
    if si != target_si:
        raise UnknownUnit(f"cannot convert {unit!r} to {target!r}")
    return si_value / to_si(1.0, target)[0]


def is_known(unit: str) -> bool:
    return unit.strip() in _TABLE
