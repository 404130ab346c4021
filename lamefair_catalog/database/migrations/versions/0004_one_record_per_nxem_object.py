"""derived files: one record per NXem object (unique bucket + key)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 02:00:00

`img.tif` and `img.dm4` in one folder both derived `img.nxs`, so the second conversion overwrote
the first's object and two records described one object. Records that already share an object
are told apart before the index is made: the newest keeps the object (most likely the last bytes
written), the others move to a name of their own and go back to `pending` with a report saying
to convert again (their bytes are not in the bucket any more). Nothing in the bucket is deleted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OVERWRITTEN = (
    "The NXem stored for this file was overwritten by another file's conversion of the same "
    "name (fixed in this version); convert the file again to store its own."
)


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT d.id, d.bucket, d.key, f.key AS raw_key FROM derived_files d "
            "JOIN files f ON f.id = d.source_file_id "
            "WHERE EXISTS (SELECT 1 FROM derived_files o WHERE o.bucket = d.bucket "
            "AND o.key = d.key AND o.id <> d.id) ORDER BY d.bucket, d.key, d.created_at DESC"
        )
    ).all()
    kept: set[tuple[str, str]] = set()
    for row in rows:
        if (row.bucket, row.key) not in kept:
            kept.add((row.bucket, row.key))  # the newest of its group keeps the object
            continue
        own = f"{row.raw_key}.{str(row.id).replace('-', '')[:12]}.nxs"
        connection.execute(
            sa.text(
                "UPDATE derived_files SET key = :key, state = 'pending', report = :report, "
                "server_valid = NULL, server_validator = '', server_report = '', "
                "server_checked_at = NULL WHERE id = :id"
            ),
            {"key": own, "report": OVERWRITTEN, "id": row.id},
        )
    with op.batch_alter_table("derived_files", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_derived_files_object", ["bucket", "key"])


def downgrade() -> None:
    with op.batch_alter_table("derived_files", schema=None) as batch_op:
        batch_op.drop_constraint("uq_derived_files_object", type_="unique")
