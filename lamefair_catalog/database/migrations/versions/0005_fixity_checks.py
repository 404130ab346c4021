"""fixity: per-object check state, every check recorded, full passes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 02:00:00

`lamefair-catalog fixity` re-reads stored objects and compares their SHA-256 with the recorded
one (domain/fixity.py). Objects enter `fixity_objects` when a pass starts; nothing to fill here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fixity_objects",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(), nullable=True),
        sa.Column("last_result", sa.String(length=16), nullable=True),
        sa.Column("last_detail", sa.Text(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_fixity_objects_proposal_id", "fixity_objects", ["proposal_id"])
    op.create_index("ix_fixity_objects_last_checked_at", "fixity_objects", ["last_checked_at"])
    op.create_table(
        "fixity_checks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("pass_id", sa.Integer(), nullable=True),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("expected_sha256", sa.String(length=64), nullable=False),
        sa.Column("actual_sha256", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("checked_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_fixity_checks_object", "fixity_checks", ["object_id", "checked_at"])
    op.create_index("ix_fixity_checks_proposal_id", "fixity_checks", ["proposal_id"])
    op.create_index("ix_fixity_checks_pass_id", "fixity_checks", ["pass_id"])
    op.create_table(
        "fixity_passes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("fixity_passes")
    op.drop_index("ix_fixity_checks_pass_id", table_name="fixity_checks")
    op.drop_index("ix_fixity_checks_proposal_id", table_name="fixity_checks")
    op.drop_index("ix_fixity_checks_object", table_name="fixity_checks")
    op.drop_table("fixity_checks")
    op.drop_index("ix_fixity_objects_last_checked_at", table_name="fixity_objects")
    op.drop_index("ix_fixity_objects_proposal_id", table_name="fixity_objects")
    op.drop_table("fixity_objects")
