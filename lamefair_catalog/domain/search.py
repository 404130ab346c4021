"""Search by what the microscope did: the acquisition values stored with each derived NXem file,
filtered, paged and counted by facets, only within the proposals the caller reads.

Why one table (`acquisition_values`) with the parents' ids copied in: a million files filtered and
counted must not join five tables per row. What can change later (a sample's elements, the names
free text matches) is resolved first against the small parent tables into id sets. Facets are
counted over the filtered set in one statement (GROUPING SETS on PostgreSQL, a CTE grouped once
per facet on SQLite), not by one query per facet; elements are counted per sample, then summed
over the samples' element lists. On PostgreSQL the counts run beside the page (search()).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    String,
    any_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from lamefair_catalog.database.engine import SIDE_POOL_SIZE
from lamefair_catalog.database.models import (
    AcquisitionValues,
    DerivedFile,
    Experiment,
    File,
    Measurement,
    Proposal,
    Sample,
)
from lamefair_catalog.domain.access import Principal, visible_proposal_ids
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.search_hits import page_hits
from lamefair_catalog.domain.search_page import page_ids
from lamefair_catalog.domain.search_query import SearchQuery
from lamefair_catalog.schemas import search as s

A = AcquisitionValues
FACET_SIZE = 20  # values per facet, the most frequent first


def record_values(
    session: Session, row: File, derived: DerivedFile, proposal: Proposal, body: s.AcquisitionIn
) -> None:
    """Set the values of a derived file (new bytes: the old values go); searchable once stored."""
    values = session.get(A, derived.id) or A(derived_id=derived.id)
    experiment = session.get(Experiment, row.measurement.experiment_id)
    values.file_id, values.measurement_id = row.id, row.measurement_id
    values.experiment_id, values.sample_id = experiment.id, experiment.sample_id
    values.proposal_id, values.path = proposal.id, row.path
    values.operator = body.operator or row.measurement.operator
    values.vendor, values.model = body.instrument_vendor, body.instrument_model
    values.instrument = " ".join(p for p in (body.instrument_vendor, body.instrument_model) if p)
    values.detector = body.detector
    for name in s.NUMBER_FIELDS:
        number = getattr(body, name)
        setattr(values, name, None if number is None else float(number))
    values.acquired_text = body.acquired_at or ""
    values.acquired_at = _instant(body.acquired_at)
    values.width, values.height, values.frames = body.width, body.height, body.frames
    values.valid = body.valid
    values.stored = False  # until the mirror bucket holds the bytes (mark_stored)
    session.add(values)


def mark_stored(session: Session, derived_id: uuid.UUID) -> None:
    values = session.get(A, derived_id)
    if values is not None:
        values.stored = True


def forget_values(session: Session, derived_id: uuid.UUID) -> None:
    """New bytes sent without values (an older client): the old values describe other bytes."""
    values = session.get(A, derived_id)
    if values is not None:
        session.delete(values)


def _instant(text: str | None) -> dt.datetime | None:
    """An ISO 8601 time as an instant; a zoneless one is taken as UTC (the desktop sends zones)."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None  # kept as text (acquired_text), not searchable by date
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class Matches:
    """A query's WHERE clauses: `others` and, when not every proposal, the one on `proposals`."""

    others: list
    proposals: set[uuid.UUID] | None
    where: list


def _conditions(session: Session, principal: Principal, query: SearchQuery) -> Matches | None:
    """The WHERE clauses of a query; None when nothing can match (saves the scan)."""
    where = [A.stored.is_(True)]  # the derived file's bytes are in the mirror bucket
    visible = visible_proposal_ids(session, principal)
    proposals = set(query.proposals) if query.proposals else None
    if visible is not None:
        proposals = visible if proposals is None else proposals & visible
    if proposals is not None and not proposals:
        return None
    for name, (low, high) in query.ranges.items():
        column = getattr(A, name)
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column <= high)
    for column, wanted in (
        (A.instrument, query.instruments),
        (A.detector, query.detectors),
        (A.operator, query.operators),
    ):
        if wanted:
            where.append(column.in_(wanted))
    if query.after is not None:
        where.append(A.acquired_at >= query.after)
    if query.before is not None:
        where.append(A.acquired_at < query.before)
    if query.valid is not None:
        where.append(A.valid.is_(query.valid))
    if query.elements:
        samples = _samples_with(session, proposals, set(query.elements))
        if not samples:
            return None
        where.append(_among(session, A.sample_id, samples))
    for word in query.words:
        where.append(_text_matches(session, word))
    if proposals is None:
        return Matches(where, None, where)
    return Matches(where, proposals, [_among(session, A.proposal_id, proposals), *where])


def _among(session: Session, column, ids) -> ColumnElement[bool]:
    """`column IN ids`. On PostgreSQL as one array parameter (`= ANY`), the plan PostgreSQL makes
    of an IN list anyway: hundreds of ids as as many parameters cost milliseconds per statement
    to render and parse, and each new count of them compiled the statement again."""
    ids = sorted(ids)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(column.type), unique=True))
    return column.in_(ids)


def _samples_with(session: Session, proposals: set | None, elements: set[str]) -> set[uuid.UUID]:
    rows = select(Sample.id, Sample.atom_types)
    if proposals is not None:
        rows = rows.where(_among(session, Sample.proposal_id, proposals))
    return {sid for sid, atoms in session.execute(rows) if elements <= set(atoms or ())}


ID_LIST_LIMIT = 1_000  # more names matching than this: left as a subquery, not sent as ids


def _text_matches(session: Session, word: str):
    """A word in the file's sample's or experiment's name, its measurement's description or its
    path (case-insensitive). The names are matched first in their small tables, once per search
    (not once per statement), and only the kinds that matched are tested on each entry: on every
    entry a search reads, a look-up in a short list of ids costs less than lower() and LIKE."""
    pattern = _like(word)
    tests = []
    for column, owner, text_column in (
        (A.sample_id, Sample.id, Sample.name),
        (A.experiment_id, Experiment.id, Experiment.name),
        (A.measurement_id, Measurement.id, Measurement.description),
    ):
        named = select(owner).where(func.lower(text_column).like(pattern, escape="\\"))
        ids = session.scalars(named.limit(ID_LIST_LIMIT + 1)).all()
        if len(ids) > ID_LIST_LIMIT:
            tests.append(column.in_(named))
        elif ids:
            tests.append(_among(session, column, ids))
    return or_(*tests, func.lower(A.path).like(pattern, escape="\\"))


# Runs the counts beside the page; never more at once than the side pool has connections, so
# a count handed here always finds a thread.
_BESIDE = ThreadPoolExecutor(SIDE_POOL_SIZE, thread_name_prefix="search-counts")


def search(catalog: Catalog, principal: Principal, query: SearchQuery) -> s.SearchPage:
    """The counts and the page scan the same matches: on PostgreSQL they run at once on two
    connections (two cores: a 26,000-match word search 146 -> 97 ms), else one after the other."""
    with catalog.session() as session:
        matches = _conditions(session, principal, query)
        if matches is None:
            return _page(query, 0, [], _facets({}))
        where = matches.where
        with catalog.side_session() as side:
            if side is None:
                total, counts = _counts(session, where, query.facets)
                hits = _hits(session, matches, query)
            else:
                counting = _BESIDE.submit(_counts, side, where, query.facets)
                try:
                    hits = _hits(session, matches, query)
                finally:
                    total, counts = counting.result()  # also waits when the page failed
        return _page(query, total, hits, _facets(counts))


def _hits(session: Session, matches: Matches, query: SearchQuery) -> list[s.SearchHit]:
    ids = page_ids(session, matches.where, matches.others, matches.proposals, query)
    return page_hits(session, ids)


def _page(query: SearchQuery, total: int, hits: list, facets: s.Facets) -> s.SearchPage:
    return s.SearchPage(
        total=total, offset=query.offset, limit=query.limit, hits=hits, facets=facets
    )


def _counts(session: Session, where: list, with_facets: bool) -> tuple[int, dict[str, Counter]]:
    """The total and every facet's counts, the elements' included (one connection: on PostgreSQL
    this runs beside the page, see search())."""
    if not with_facets:
        return session.scalar(select(func.count()).select_from(A).where(*where)) or 0, {}
    if session.get_bind().dialect.name == "postgresql":
        total, counts = _tally(_facet_rows_postgresql(session, where))
    else:
        total, counts = _tally(_facet_rows_portable(session, where))
    counts["elements"] = _element_counts(session, counts.pop("samples", Counter()))
    return total, counts


def _element_counts(session: Session, per_sample: Counter) -> Counter:
    """Files per element, from files per sample and each sample's elements. On PostgreSQL summed
    there (unnest of two arrays): reading hundreds of samples' element lists back to sum them
    here took ~5 ms per search."""
    if not per_sample:
        return Counter()
    # Sample ids come back as text (PostgreSQL with dashes, SQLite as 32 hex digits).
    if session.get_bind().dialect.name == "postgresql":
        # As two array literals (text): psycopg adapting a list of hundreds of UUIDs element by
        # element was a tenth of the catalog's busy time during searches.
        rows = session.execute(
            text(
                "SELECT e.symbol, sum(c.n) FROM unnest(CAST(:ids AS uuid[]), CAST(:ns AS bigint[]))"
                " AS c(id, n) JOIN samples ON samples.id = c.id"
                " CROSS JOIN LATERAL json_array_elements_text(samples.atom_types) AS e(symbol)"
                " GROUP BY e.symbol"
            ),
            {
                "ids": "{" + ",".join(map(str, per_sample)) + "}",
                "ns": "{" + ",".join(map(str, per_sample.values())) + "}",
            },
        )
        return Counter({symbol: int(n) for symbol, n in rows})
    ids = [uuid.UUID(str(sample)) for sample in per_sample]
    elements: Counter = Counter()
    counts = dict(zip(ids, per_sample.values(), strict=True))
    for sample_id, symbols in session.execute(
        select(Sample.id, Sample.atom_types).where(Sample.id.in_(ids))
    ):
        for element in symbols or ():
            elements[element] += counts[sample_id]
    return elements


def _tally(rows) -> tuple[int, dict[str, Counter]]:
    counts: dict[str, Counter] = {}
    total = 0
    for facet, value, count in rows:
        if facet == "total":
            total = count
        elif value not in (None, ""):
            counts.setdefault(facet, Counter())[str(value)] = count
    return total, counts


_FACET_COLUMNS = ("instruments", "detectors", "voltages", "operators", "samples")


def _facet_columns(source) -> list:
    return [
        source.c.instrument,
        source.c.detector,
        func.round(source.c.voltage / literal_column("1000.0")),  # by kV (a literal: the same
        # expression in SELECT and GROUP BY, not two parameters PostgreSQL cannot match)
        source.c.operator,
        source.c.sample_id,
    ]


def _facet_rows_postgresql(session: Session, where: list):
    """Every facet and the total in one pass over the matches (GROUPING SETS). JIT is off for
    it: compiling the plan took longer than running it (tens of ms for each search). The page
    is a second statement over the same index entries: materialising the matches once (a CTE)
    for both cost more than reading them twice (68,000 matches: 57 ms to fill it, 18 ms per
    index scan)."""
    session.execute(text("SET LOCAL jit = off"))
    columns = _facet_columns(A.__table__)
    grouping = func.grouping(*columns)
    sets = func.grouping_sets(*(tuple_(c) for c in columns), tuple_())
    statement = select(grouping, *columns, func.count()).where(*where).group_by(sets)
    # grouping() has bit 4 for the first column ... bit 0 for the last: 0b01111 names the first.
    width = len(columns)
    for bits, *values, count in session.execute(statement):
        if bits == 2**width - 1:
            yield "total", "", count
            continue
        position = next(i for i in range(width) if not bits & (1 << (width - 1 - i)))
        yield _FACET_COLUMNS[position], values[position], count


def _facet_rows_portable(session: Session, where: list):
    """SQLite has no GROUPING SETS: one CTE of the matches, grouped once per facet."""
    hits = (
        select(A.instrument, A.detector, A.voltage, A.operator, A.sample_id)
        .where(*where)
        .cte("hits")
    )

    def grouped(facet: str, column):
        return select(literal(facet), cast(column, String), func.count()).group_by(column)

    yield from session.execute(
        union_all(
            select(literal("total"), literal(""), func.count()).select_from(hits),
            *(grouped(f, c) for f, c in zip(_FACET_COLUMNS, _facet_columns(hits), strict=True)),
        )
    )


def _facets(counts: dict[str, Counter]) -> s.Facets:
    def top(facet: str, convert=str) -> list[s.FacetCount]:
        found = counts.get(facet, Counter())
        return [
            s.FacetCount(value=convert(value), count=n)
            for value, n in found.most_common(FACET_SIZE)
        ]

    return s.Facets(
        instruments=top("instruments"),
        detectors=top("detectors"),
        voltages=top("voltages", lambda v: float(v) * 1000.0),
        elements=top("elements"),
        operators=top("operators"),
    )
