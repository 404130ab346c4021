"""How sizes and lifetimes read in the window (sizes in binary units, as file managers show them)."""

from __future__ import annotations


def human_size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return ""


def human_duration(seconds: float) -> str:
    """ "5 minutes", "1 hour", "2 days": the largest whole unit, as a link's lifetime reads."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{round(seconds)} seconds"
