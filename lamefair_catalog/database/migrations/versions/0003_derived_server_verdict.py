"""derived files: the catalog's own FAIRmat verdict on the stored object

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:00:00

Packaged desktops only run a structural check; the catalog judges every stored derived file with
the FAIRmat validator and keeps the verdict next to the uploader's. Existing rows start unjudged
(null verdict, empty texts: the server defaults below fill the NOT NULL columns).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("derived_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("server_valid", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("server_validator", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("server_report", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("server_checked_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("derived_files", schema=None) as batch_op:
        batch_op.drop_column("server_checked_at")
        batch_op.drop_column("server_report")
        batch_op.drop_column("server_validator")
        batch_op.drop_column("server_valid")
