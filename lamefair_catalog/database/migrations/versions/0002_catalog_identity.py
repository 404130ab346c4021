"""catalog identity: the id clients key their queued work by

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00

The id is created here, once per database, so that every server process sharing the database
(behind a load balancer, or after a move to another host) reports the same one.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "catalog_identity",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("catalog_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("slot"),
        sa.UniqueConstraint("catalog_id"),
    )
    op.bulk_insert(
        table,
        [
            {
                "slot": 1,
                "catalog_id": uuid.uuid4(),
                "created_at": datetime.now(UTC).replace(tzinfo=None),
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("catalog_identity")
