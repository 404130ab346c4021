"""Lengths as people read them (no Qt, no image code): the preview, `lamefair inspect` and the
search results all print the same words.

Lengths get an SI prefix so the number stays between 1 and 1000 (3.372 µm, not 3.3724e-06 m);
reciprocal lengths (diffraction) are given per nanometre, the unit microscopists read them in.
It sits at the bottom layer so that the catalog's search results can use it without importing
the conversion code.
"""

from __future__ import annotations

_LENGTH_PREFIXES = (
    ("km", 1e3),
    ("m", 1.0),
    ("mm", 1e-3),
    ("µm", 1e-6),
    ("nm", 1e-9),
    ("pm", 1e-12),
)
_RECIPROCAL = (("1/nm", 1e9), ("1/µm", 1e6), ("1/mm", 1e3), ("1/m", 1.0))


def format_length(value: float, unit: str, precision: int = 4) -> str:
    """`value` in `unit` ("m", "1/m" or "px") as text, e.g. 3.3724e-6 m -> "3.372 µm"."""
    if unit == "m":
        magnitude = abs(value)
        if magnitude == 0:
            return "0 m"  # no prefix for nothing (the window's cursor at the origin)
        for name, factor in _LENGTH_PREFIXES:
            if magnitude >= factor or name == "pm":
                return f"{value / factor:.{precision}g} {name}"
    if unit == "1/m":
        magnitude = abs(value)
        for name, factor in _RECIPROCAL:
            # 1/nm down to 0.001 1/nm (a fine diffraction pixel), then the next unit.
            if magnitude >= factor * 1e-3 or name == "1/m":
                return f"{value / factor:.{precision}g} {name}"
    return f"{value:.{precision}g} px"
