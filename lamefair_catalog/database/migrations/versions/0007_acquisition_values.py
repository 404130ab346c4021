"""acquisition values: what the microscope did, per derived NXem file, indexed for search

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 08:30:00

domain/search.py; one row per derived file, sent by the desktop with the NXem (optional: files
converted by older clients simply have none).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_acquisition_proposal_acquired": ["proposal_id", "acquired_at"],
    "ix_acquisition_acquired": ["acquired_at"],
    "ix_acquisition_voltage": ["voltage"],
    "ix_acquisition_pixel_size": ["pixel_size"],
    "ix_acquisition_magnification": ["magnification"],
    "ix_acquisition_instrument": ["instrument"],
    "ix_acquisition_detector": ["detector"],
    "ix_acquisition_operator": ["operator"],
    "ix_acquisition_sample": ["sample_id"],
    "ix_acquisition_values_measurement_id": ["measurement_id"],
    "ix_acquisition_values_experiment_id": ["experiment_id"],
}


def upgrade() -> None:
    text = sa.String(length=200)
    op.create_table(
        "acquisition_values",
        sa.Column("derived_id", sa.Uuid(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("measurement_id", sa.Uuid(), nullable=False),
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("sample_id", sa.Uuid(), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("operator", text, nullable=False),
        sa.Column("instrument", text, nullable=False),
        sa.Column("vendor", text, nullable=False),
        sa.Column("model", text, nullable=False),
        sa.Column("detector", text, nullable=False),
        *(
            sa.Column(name, sa.Float(), nullable=True)
            for name in (
                "voltage",
                "magnification",
                "field_of_view",
                "pixel_size",
                "dwell_time",
                "working_distance",
                "camera_length",
                "stage_tilt",
            )
        ),
        sa.Column("acquired_at", sa.DateTime(), nullable=True),
        sa.Column("acquired_text", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=True),
        sa.Column("stored", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["derived_id"], ["derived_files.id"]),
        sa.PrimaryKeyConstraint("derived_id"),
        sa.UniqueConstraint("file_id"),
    )
    for name, columns in _INDEXES.items():
        op.create_index(name, "acquisition_values", columns)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="acquisition_values")
    op.drop_table("acquisition_values")
