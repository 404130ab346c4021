"""A vendor file's flattened tags as people read them (no Qt): the vendor's own label and unit
where the file ships them, the raw key kept for search and for mappings.

Zeiss SmartSEM stores (label, value, unit) for each CZ_SEM entry; the reader flattens them to
`CZ_SEM.ap_wd` = 3.9, `CZ_SEM.ap_wd.label` = "WD", `CZ_SEM.ap_wd.unit` = "mm", shown here as one
row "CZ_SEM: WD" = "3.9 mm". SmartSEM's unlabelled values (`CZ_SEM.values[n]`, no label in the
file) and the data layout tags (strip offsets...) go last: they mean nothing to an operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_LABELLED_BLOCKS = ("CZ_SEM",)
_LAST = re.compile(
    r"^(CZ_SEM\.values\[|StripOffsets|StripByteCounts|TileOffsets|TileByteCounts|RowsPerStrip|"
    r"ColorMap|JPEGTables|IJMetadataByteCounts|TIFF\.pages)"
)
_UNLABELLED = re.compile(r"^CZ_SEM\.values\[(\d+)\]$")


@dataclass(frozen=True)
class TagRow:
    key: str  # the flattened key, as mappings name it
    label: str  # what the row shows
    value: str


def labelled_tags(metadata: dict[str, Any]) -> list[TagRow]:
    """Every tag once, with the vendor's label and unit merged in; layout noise last."""
    rows: list[TagRow] = []
    last: list[TagRow] = []
    for key, value in metadata.items():
        block, _, rest = key.partition(".")
        if block in _LABELLED_BLOCKS and rest.endswith((".label", ".unit")):
            base = key.rsplit(".", 1)[0]
            if base in metadata:
                continue  # merged into its value's row
        label, text = key, _text(value)
        unlabelled = _UNLABELLED.match(key)
        if unlabelled:
            label = f"CZ_SEM: unlabelled value {unlabelled.group(1)}"
        if block in _LABELLED_BLOCKS:
            vendor_label = metadata.get(f"{key}.label")
            unit = metadata.get(f"{key}.unit")
            if vendor_label:
                label = f"{block}: {vendor_label}"
            if unit and text:
                text = f"{text} {unit}"
        (last if _LAST.match(key) else rows).append(TagRow(key, label, text))
    return rows + last


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
