"""Searching the catalog by acquisition values (no Qt): the filters as the API names them, and a
hit as the rows people read, shared by `lamefair search` and the window's Find panel
(ui/models/search_model.py), so both show the same columns the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lamefair_desktop.lengths import format_length

# Number filters, API name -> (label, what people type it in). Values are SI base units.
RANGES: dict[str, str] = {
    "voltage": "accelerating voltage (V)",
    "magnification": "magnification",
    "field_of_view": "field of view (m)",
    "pixel_size": "pixel size (m)",
    "dwell_time": "dwell time (s)",
    "working_distance": "working distance (m)",
    "camera_length": "camera length (m)",
    "stage_tilt": "stage tilt (degrees)",
}

COLUMNS = ("Acquired", "Instrument", "Detector", "Voltage", "Pixel size", "Proposal", "File")


@dataclass(frozen=True)
class SearchFilters:
    """One search: what the API's query string says, built by the CLI or the Find panel."""

    text: str = ""
    ranges: dict[str, str] = field(default_factory=dict)  # "voltage" -> "180e3..210e3"
    instruments: tuple[str, ...] = ()
    detectors: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    elements: tuple[str, ...] = ()
    proposals: tuple[str, ...] = ()
    date_from: str = ""
    date_to: str = ""
    valid: bool | None = None
    offset: int = 0
    limit: int = 50
    facets: bool = True  # later pages skip the counts (they are the first page's)

    def params(self) -> dict[str, Any]:
        """The `CatalogClient.search` filters (lists repeat their parameter)."""
        out: dict[str, Any] = {
            "q": self.text.strip(),
            "instrument": list(self.instruments),
            "detector": list(self.detectors),
            "operator": list(self.operators),
            "element": list(self.elements),
            "proposal": list(self.proposals),
            "from": self.date_from,
            "to": self.date_to,
            "valid": self.valid,
            "offset": self.offset or None,
            "limit": self.limit,
            "facets": None if self.facets else False,
        }
        out.update({name: text.strip() for name, text in self.ranges.items() if text.strip()})
        return out


def _kv(volts: float | None) -> str:
    if volts is None:
        return ""
    return f"{volts / 1e3:g} kV" if abs(volts) >= 1e3 else f"{volts:g} V"


def row_of(hit: dict) -> tuple[str, ...]:
    """A hit as the cells of COLUMNS."""
    values = hit.get("values") or {}
    acquired = (values.get("acquired_text") or "").replace("T", " ")
    pixel = values.get("pixel_size")
    return (
        acquired[:19],
        values.get("instrument") or "",
        values.get("detector") or "",
        _kv(values.get("voltage")),
        format_length(pixel, "m") if pixel else "",
        hit.get("proposal_number", ""),
        f"{hit.get('sample_name', '')} / {hit.get('experiment_name', '')} / {hit.get('path', '')}",
    )


def tile_of(hit: dict) -> str:
    """A hit as the Find grid's caption: its file name, then its key values (voltage, pixel
    size), as the table's cells show them."""
    cells = dict(zip(COLUMNS, row_of(hit), strict=True))
    name = str(hit.get("path", "")).rsplit("/", 1)[-1]
    values = " · ".join(v for v in (cells["Voltage"], cells["Pixel size"]) if v)
    return f"{name}\n{values}" if values else name


def facet_label(name: str, value: Any) -> str:
    """A facet value as shown: voltages in kV, the rest as they are."""
    return _kv(float(value)) if name == "voltages" else str(value)


class SearchResults:
    """The pages of one search as they arrive (Qt-free; ui/models/search_model.py shows it).

    Each new search takes a generation: an answer to an older search, or a page asked before
    the filters changed, is dropped (`accept` says False) instead of mixing two searches.
    """

    def __init__(self) -> None:
        self.filters = SearchFilters()
        self.generation = 0
        self.hits: list[dict] = []
        self.total = 0
        self.facets: dict[str, list[dict]] = {}
        self.loading = False
        self.error = ""

    def begin(self, filters: SearchFilters) -> tuple[int, SearchFilters]:
        """A new search from its first page: (generation, filters of the page to ask)."""
        self.generation += 1
        self.filters = SearchFilters(**{**filters.__dict__, "offset": 0})
        self.hits, self.total, self.facets, self.error = [], 0, {}, ""
        self.loading = True
        return self.generation, self.filters

    def next_page(self) -> tuple[int, SearchFilters] | None:
        """The next page's request, or None when everything is shown or a page is on its way."""
        if self.loading or len(self.hits) >= self.total:
            return None
        self.loading = True
        return self.generation, SearchFilters(
            **{**self.filters.__dict__, "offset": len(self.hits), "facets": False}
        )

    def accept(self, generation: int, page: dict) -> bool:
        if generation != self.generation:
            return False
        self.loading = False
        if page.get("offset", 0) == 0:
            self.facets = page.get("facets") or {}
        self.total = int(page.get("total", 0))
        self.hits.extend(page.get("hits") or [])
        return True

    def failed(self, generation: int, message: str) -> bool:
        if generation != self.generation:
            return False
        self.loading, self.error = False, message
        return True
