"""search: one covering index led by proposal_id, so searches read no wide rows

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 11:00:00

domain/search.py. Replaces ix_acquisition_proposal_acquired (the same keys) with
ix_acquisition_search, which on PostgreSQL also INCLUDEs every column a filter, a facet or the
page order reads: with a million rows, counting facets spent most of its time reading the rows
of the wide table (EXPLAIN: 35,000 heap pages for 68,000 matches). Building the index fills it
from the rows already there (nothing else to backfill); run VACUUM (or let autovacuum) so the
visibility map lets PostgreSQL use index-only scans. SQLite gets the plain index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in models.SEARCH_INCLUDES at this revision (a migration must not follow later models).
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
]


def upgrade() -> None:
    op.create_index(
        "ix_acquisition_search",
        "acquisition_values",
        ["proposal_id", "acquired_at"],
        postgresql_include=_INCLUDES,
    )
    op.drop_index("ix_acquisition_proposal_acquired", table_name="acquisition_values")


def downgrade() -> None:
    op.create_index(
        "ix_acquisition_proposal_acquired", "acquisition_values", ["proposal_id", "acquired_at"]
    )
    op.drop_index("ix_acquisition_search", table_name="acquisition_values")
