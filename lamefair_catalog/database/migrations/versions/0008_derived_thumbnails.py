"""derived files: a PNG thumbnail beside each NXem in the mirror bucket

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00

domain/thumbnails.py. Existing rows have none (empty texts: the server defaults fill the NOT NULL
columns); `lamefair thumbnails --missing` makes theirs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("derived_files", sa.Column("thumbnail_size", sa.BigInteger(), nullable=True))
    op.add_column(
        "derived_files",
        sa.Column("thumbnail_sha256", sa.String(length=64), nullable=False, server_default=""),
    )
    op.add_column(
        "derived_files",
        sa.Column("thumbnail_of", sa.String(length=64), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("derived_files", schema=None) as batch_op:
        batch_op.drop_column("thumbnail_of")
        batch_op.drop_column("thumbnail_sha256")
        batch_op.drop_column("thumbnail_size")
