"""search: covering indexes led by proposal_id then voltage, instrument or operator

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 13:30:00

domain/search.py. With one covering index led by (proposal_id, acquired_at), every search read
all the index entries of the caller's proposals (300,000 for the bench's reader) and tested its
filters on each: 50-70 ms per pass on a quiet machine, whatever the filter. Three more indexes
lead by proposal_id then voltage, instrument or operator, so a range or a value asked for
narrows the scan (one descent per proposal, then only the entries inside it); PostgreSQL picks
the narrowest. All four also INCLUDE the path and the measurement and experiment ids, which a
word search (`q`) reads: before, `q` read the wide rows (EXPLAIN: 38,000 heap pages).
Building them fills them from the rows already there; VACUUM (or autovacuum) sets the
visibility map that index-only scans need. SQLite gets the plain two-column indexes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in models.SEARCH_INCLUDES / SEARCH_KEYS at this revision (a migration must not follow later
# models).
_INCLUDES = [
    "derived_id",
    "stored",
    "valid",
    "sample_id",
    "instrument",
    "detector",
    "operator",
    "voltage",
    "magnification",
    "field_of_view",
    "pixel_size",
    "dwell_time",
    "working_distance",
    "camera_length",
    "stage_tilt",
    "acquired_at",
    "path",
    "measurement_id",
    "experiment_id",
]
_KEYS = {
    "ix_acquisition_search": "acquired_at",
    "ix_acquisition_search_voltage": "voltage",
    "ix_acquisition_search_instrument": "instrument",
    "ix_acquisition_search_operator": "operator",
}
# 0009's includes of ix_acquisition_search, for the downgrade.
_INCLUDES_0009 = _INCLUDES[:15]


def upgrade() -> None:
    op.drop_index("ix_acquisition_search", table_name="acquisition_values")
    for name, key in _KEYS.items():
        op.create_index(
            name,
            "acquisition_values",
            ["proposal_id", key],
            postgresql_include=[c for c in _INCLUDES if c != key],
        )


def downgrade() -> None:
    for name in _KEYS:
        op.drop_index(name, table_name="acquisition_values")
    op.create_index(
        "ix_acquisition_search",
        "acquisition_values",
        ["proposal_id", "acquired_at"],
        postgresql_include=_INCLUDES_0009,
    )
