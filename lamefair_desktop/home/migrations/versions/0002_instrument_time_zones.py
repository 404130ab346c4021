"""watch rules and conversion jobs name the instrument's time zone

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 01:10:00

Vendor headers hold local time without a zone (issue #14). A watch rule may name the zone of its
instrument's clock (IANA, e.g. Europe/Rome), and each conversion job keeps the zone it is to use
and why it was chosen, which the NXem's notes record. Null: not said, so the conversion falls back
to the instrument pair's zone, then this computer's. Existing rows keep that meaning.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("watch_rules") as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
    with op.batch_alter_table("derived_jobs") as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("timezone_reason", sa.Text(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("derived_jobs") as batch_op:
        batch_op.drop_column("timezone_reason")
        batch_op.drop_column("timezone")
    with op.batch_alter_table("watch_rules") as batch_op:
        batch_op.drop_column("timezone")
