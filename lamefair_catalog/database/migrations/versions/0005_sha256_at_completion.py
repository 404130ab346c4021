"""files: the SHA-256 may be declared when the upload completes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 02:00:00

Desktops used to read every file twice: once to hash it before registering, once to send it. Now
a file may be registered by size alone; its SHA-256, computed while the bytes are sent, is
declared with the single PUT's plan (which signs it) or on completion. Existing rows keep theirs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.alter_column("sha256", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # Files registered without a hash and never completed have none: an empty one (never stored).
    op.execute("UPDATE files SET sha256 = '' WHERE sha256 IS NULL")
    with op.batch_alter_table("files") as batch:
        batch.alter_column("sha256", existing_type=sa.String(length=64), nullable=False)
