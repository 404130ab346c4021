"""conversion jobs keep the SHA-256 of the derived file they produced

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 01:20:00

The catalog's verdict on a derived file comes through the change feed, possibly late: a verdict
on bytes sent before a local reconversion must not be shown for the new file. The job keeps the
SHA-256 of its current derived file, and a verdict is taken only for that file. Existing rows
start with "" (unknown): they take the verdict as before, until they are converted again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("derived_jobs") as batch_op:
        batch_op.add_column(
            sa.Column("output_sha256", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("derived_jobs") as batch_op:
        batch_op.drop_column("output_sha256")
