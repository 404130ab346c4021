"""The query string of `GET /api/search`, read into a `SearchQuery` with messages naming the
parameter at fault (422). Ranges are `low..high` with either end open (`180e3..`, `..2e-9`); a
single number means that value. Repeated parameters (`instrument=a&instrument=b`) mean any of them,
except `element`, where the sample must hold every one given.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from lamefair_catalog.domain.errors import Invalid
from lamefair_catalog.schemas.search import NUMBER_FIELDS
from lamefair_catalog.shared import NAME_LENGTH

MAX_LIMIT = 500
_TEXT = ("instrument", "detector", "operator")
_SINGLE = ("q", "from", "to", "valid", "offset", "limit", "facets", *NUMBER_FIELDS)
KNOWN = frozenset((*_SINGLE, *_TEXT, "element", "proposal"))


@dataclass(frozen=True)
class SearchQuery:
    words: tuple[str, ...] = ()
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    instruments: tuple[str, ...] = ()
    detectors: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    elements: tuple[str, ...] = ()
    proposals: tuple[uuid.UUID, ...] = ()
    after: dt.datetime | None = None
    before: dt.datetime | None = None
    valid: bool | None = None
    offset: int = 0
    limit: int = 50
    facets: bool = True


def _bad(name: str, message: str) -> Invalid:
    return Invalid(f"Search parameter {name!r}: {message}", field=name)


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _bad(name, f"{text!r} is not a number (SI units, e.g. 200e3).") from None
    if not math.isfinite(value):
        raise _bad(name, f"{text!r} is not a finite number.")
    return value


def parse_range(name: str, text: str) -> tuple[float | None, float | None]:
    """`a..b`, `a..`, `..b` or `a` (exactly a, to a relative 1e-9) in SI units."""
    text = text.strip()
    if ".." not in text:
        value = _number(name, text)
        slack = abs(value) * 1e-9
        return value - slack, value + slack
    low_text, _, high_text = text.partition("..")
    if not low_text.strip() and not high_text.strip():
        raise _bad(name, "give at least one end of the range, e.g. 180e3..210e3.")
    low = _number(name, low_text) if low_text.strip() else None
    high = _number(name, high_text) if high_text.strip() else None
    if low is not None and high is not None and low > high:
        raise _bad(name, f"the range {text!r} is empty (its low end is above its high end).")
    return low, high


def _moment(name: str, text: str, *, end: bool) -> dt.datetime:
    """A date (the whole day: `to` includes it) or an ISO date-time; zoneless means UTC."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time(), dt.UTC)
            return moment + dt.timedelta(days=1) if end else moment
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _bad(name, f"{text!r} is not a date (YYYY-MM-DD) or ISO 8601 date-time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _count(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _bad(name, f"{text!r} is not a whole number.") from None
    if not low <= value <= high:
        raise _bad(name, f"{value} is outside {low}..{high}.")
    return value


def _flag(name: str, text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise _bad(name, f"{text!r} is not true or false.")


def _texts(name: str, values: list[str]) -> tuple[str, ...]:
    for value in values:
        if len(value) > NAME_LENGTH or any(ord(c) < 32 for c in value):
            raise _bad(name, f"at most {NAME_LENGTH} characters of one line.")
    return tuple(v for v in values if v)


def parse_search(params: Iterable[tuple[str, str]]) -> SearchQuery:
    given: dict[str, list[str]] = {}
    for name, value in params:
        given.setdefault(name, []).append(value)
    unknown = sorted(set(given) - KNOWN)
    if unknown:
        known = ", ".join(sorted(KNOWN))
        raise _bad(unknown[0], f"not a search parameter; known ones are {known}.")
    for name in _SINGLE:
        if len(given.get(name, ())) > 1:
            raise _bad(name, "give it once.")
    one = {name: values[0].strip() for name, values in given.items() if name in _SINGLE}
    q = one.get("q", "")
    if len(q) > 500:
        raise _bad("q", "at most 500 characters.")
    elements = _texts("element", [e.strip() for e in given.get("element", [])])
    for element in elements:
        if not (element.isalpha() and len(element) <= 3):
            raise _bad("element", f"{element!r} is not an element symbol (e.g. Fe).")
    proposals = []
    for text in given.get("proposal", []):
        try:
            proposals.append(uuid.UUID(text))
        except ValueError:
            raise _bad("proposal", f"{text!r} is not a proposal id.") from None
    after = _moment("from", one["from"], end=False) if one.get("from") else None
    before = _moment("to", one["to"], end=True) if one.get("to") else None
    if after and before and after >= before:
        raise _bad("to", "the date range is empty ('to' is before 'from').")
    return SearchQuery(
        words=tuple(w.lower() for w in q.split()),
        ranges={n: parse_range(n, one[n]) for n in NUMBER_FIELDS if one.get(n)},
        instruments=_texts("instrument", given.get("instrument", [])),
        detectors=_texts("detector", given.get("detector", [])),
        operators=_texts("operator", given.get("operator", [])),
        elements=tuple(e.capitalize() for e in elements),
        proposals=tuple(proposals),
        after=after,
        before=before,
        valid=_flag("valid", one["valid"]) if one.get("valid") else None,
        offset=_count("offset", one["offset"], 0, 10_000_000) if one.get("offset") else 0,
        limit=_count("limit", one["limit"], 1, MAX_LIMIT) if one.get("limit") else 50,
        facets=_flag("facets", one["facets"]) if one.get("facets") else True,
    )
