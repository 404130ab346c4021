"""Printing figures the same way in every benchmark."""

from __future__ import annotations


def figure(label: str, value: float, unit: str, note: str = "") -> None:
    print(f"   {label:<58} {value:>12,.2f} {unit:<8} {note}", flush=True)


def ratio(label: str, ours: float, theirs: float, note: str = "") -> None:
    value = ours / theirs if theirs else float("inf")
    print(f"   {label:<58} {value:>12.2f} x        {note}", flush=True)
