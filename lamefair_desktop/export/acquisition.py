"""The acquisition values of an export's NXem files, as the catalog stores them for search, and
as RO-Crate states them: schema.org PropertyValue entities (name, value, SI unit as a UN/CEFACT
`unitCode` and a readable `unitText`) linked from each file by `variableMeasured`.

The values come from the catalog (`GET /api/search`, the proposal's hits), not from re-reading
the NXem files: they are what search finds the files by, and a links-only export never holds
the bytes. `variableMeasured` rather than `additionalProperty`: it is the property eLabFTW's
`.eln` export uses for its measured fields, and schema.org gives `additionalProperty` to
products and places, not to data.
"""

from __future__ import annotations

from lamefair_desktop.catalog.client import CatalogClient

PAGE = 500  # the search API's largest page

# Search value -> (label, UN/CEFACT common code, unit text); None: no unit. SI base units, as
# the catalog stores them (stage tilt in degrees).
PROPERTIES: dict[str, tuple[str, str | None, str | None]] = {
    "instrument": ("Instrument", None, None),
    "detector": ("Detector", None, None),
    "voltage": ("Accelerating voltage", "VLT", "V"),
    "magnification": ("Magnification", None, None),
    "field_of_view": ("Field of view", "MTR", "m"),
    "pixel_size": ("Pixel size", "MTR", "m"),
    "dwell_time": ("Dwell time", "SEC", "s"),
    "working_distance": ("Working distance", "MTR", "m"),
    "camera_length": ("Camera length", "MTR", "m"),
    "stage_tilt": ("Stage tilt", "DD", "°"),
    "acquired_text": ("Acquisition time", None, None),
    "width": ("Image width", "E37", "pixel"),
    "height": ("Image height", "E37", "pixel"),
    "frames": ("Frames", None, None),
    "valid": ("Valid NXem (FAIRmat validator)", None, None),
}


def acquisition_hits(client: CatalogClient, proposal_id: str, keys: set[str]) -> dict[str, dict]:
    """Mirror key -> the search hit of each NXem in `keys` (those the catalog has values for),
    paging through the proposal's hits until every key is found."""
    found: dict[str, dict] = {}
    offset = 0
    while keys - found.keys():
        page = client.search(
            {"proposal": [proposal_id], "offset": offset or None, "limit": PAGE, "facets": False}
        )
        hits = page.get("hits") or []
        found.update({h["mirror_key"]: h for h in hits if h.get("mirror_key") in keys})
        offset += len(hits)
        if not hits or offset >= int(page.get("total", 0)):
            break
    return found


def property_values(hit: dict) -> list[dict]:
    """The PropertyValue entities of one hit's values (absent values left out)."""
    values = hit.get("values") or {}
    out = []
    for name, (label, code, unit) in PROPERTIES.items():
        value = values.get(name)
        if value is None or value == "":
            continue
        entity = {
            "@id": f"#acquisition-{hit['derived']}-{name}",
            "@type": "PropertyValue",
            "name": label,
            "propertyID": name,  # the catalog's name for it (GET /api/search)
            "value": value,
        }
        if code:
            entity["unitCode"], entity["unitText"] = code, unit
        out.append(entity)
    return out
