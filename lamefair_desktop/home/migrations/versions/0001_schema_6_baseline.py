"""the local database as schema 6 had it (the last one versioned by hand with user_version)

Revision ID: 0001
Revises:
Create Date: 2026-12-02 01:00:00

Before Alembic, lamefair numbered the schema in SQLite's `user_version` (1 to 6) and made the
tables with create_all, which only ever adds tables, plus one hand-written column step (6: the
catalog's verdict on derived files). This revision is that schema written out, and it is also the
path of every such file: a table that is missing is created, the schema-6 columns are added where
they are missing, and whatever is there (with its rows) is kept. A new file runs the same steps
from nothing. `local_db` sets `user_version` past 6 afterwards, so that an app from before Alembic
refuses the file instead of using a schema it does not know.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.String(length=40)  # ISO timestamps as text


def _tables() -> dict[str, tuple[list, list[tuple[str, list[str]]]]]:
    """Each schema-6 table: its columns and constraints, and its indexes (name, columns)."""
    return {
        "uploads": (
            [
                sa.Column("file_id", sa.String(length=36), nullable=False),
                sa.Column("seq", sa.Integer(), nullable=False),
                sa.Column("measurement_id", sa.String(length=36), nullable=False),
                sa.Column("server", sa.String(length=500), nullable=False),
                sa.Column("local_path", sa.Text(), nullable=False),
                sa.Column("rel_path", sa.Text(), nullable=False),
                sa.Column("size", sa.BigInteger(), nullable=False),
                sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
                sa.Column("sha256", sa.String(length=64), nullable=False),
                sa.Column("state", sa.String(length=16), nullable=False),
                sa.Column("upload_id", sa.String(length=512), nullable=True),
                sa.Column("part_size", sa.BigInteger(), nullable=True),
                sa.Column("part_count", sa.Integer(), nullable=True),
                sa.Column("error", sa.Text(), nullable=False),
                sa.Column("updated_at", NOW, nullable=False),
                sa.PrimaryKeyConstraint("file_id"),
            ],
            [("ix_uploads_seq", ["seq"]), ("ix_uploads_measurement_id", ["measurement_id"])],
        ),
        "upload_parts": (
            [
                sa.Column("file_id", sa.String(length=36), nullable=False),
                sa.Column("upload_id", sa.String(length=512), nullable=False),
                sa.Column("number", sa.Integer(), nullable=False),
                sa.Column("etag", sa.String(length=200), nullable=False),
                sa.Column("sha256", sa.String(length=64), nullable=False),
                sa.Column("size", sa.BigInteger(), nullable=False),
                sa.ForeignKeyConstraint(["file_id"], ["uploads.file_id"], ondelete="CASCADE"),
                sa.PrimaryKeyConstraint("file_id", "upload_id", "number"),
            ],
            [],
        ),
        "cache_entities": (
            [
                sa.Column("server", sa.String(length=500), nullable=False),
                sa.Column("id", sa.String(length=36), nullable=False),
                sa.Column("kind", sa.String(length=16), nullable=False),
                sa.Column("parent_id", sa.String(length=36), nullable=True),
                sa.Column("name", sa.Text(), nullable=False),
                sa.Column("data", sa.JSON(), nullable=False),
                sa.Column("pending", sa.Integer(), nullable=False),
                sa.PrimaryKeyConstraint("server", "id"),
            ],
            [
                ("ix_cache_entities_kind", ["kind"]),
                ("ix_cache_entities_parent_id", ["parent_id"]),
            ],
        ),
        "sync_state": (
            [
                sa.Column("server", sa.String(length=500), nullable=False),
                sa.Column("last_rev", sa.Integer(), nullable=False),
                sa.PrimaryKeyConstraint("server"),
            ],
            [],
        ),
        "outbox": (
            [
                sa.Column("id", sa.String(length=36), nullable=False),
                sa.Column("server", sa.String(length=500), nullable=False),
                sa.Column("kind", sa.String(length=16), nullable=False),
                sa.Column("body", sa.JSON(), nullable=False),
                sa.Column("state", sa.String(length=16), nullable=False),
                sa.Column("error", sa.Text(), nullable=False),
                sa.Column("field", sa.String(length=64), nullable=False),
                sa.Column("existing_id", sa.String(length=36), nullable=False),
                sa.Column("created_at", NOW, nullable=False),
                sa.PrimaryKeyConstraint("id"),
            ],
            [("ix_outbox_server", ["server"])],
        ),
        "derived_jobs": (
            [
                sa.Column("file_id", sa.String(length=36), nullable=False),
                sa.Column("seq", sa.Integer(), nullable=False),
                sa.Column("measurement_id", sa.String(length=36), nullable=False),
                sa.Column("server", sa.String(length=500), nullable=False),
                sa.Column("rel_path", sa.Text(), nullable=False),
                sa.Column("pair", sa.String(length=64), nullable=False),
                sa.Column("state", sa.String(length=16), nullable=False),
                sa.Column("output", sa.Text(), nullable=False),
                sa.Column("valid", sa.Boolean(), nullable=True),
                sa.Column("validator", sa.String(length=16), nullable=False),
                sa.Column("report", sa.Text(), nullable=False),
                sa.Column("lacking", sa.Text(), nullable=False),
                sa.Column("error", sa.Text(), nullable=False),
                sa.Column("updated_at", NOW, nullable=False),
                *_verdict_columns(),
                sa.PrimaryKeyConstraint("file_id"),
            ],
            [
                ("ix_derived_jobs_seq", ["seq"]),
                ("ix_derived_jobs_measurement_id", ["measurement_id"]),
            ],
        ),
        "watch_rules": (
            [
                sa.Column("id", sa.String(length=36), nullable=False),
                sa.Column("server", sa.String(length=500), nullable=False),
                sa.Column("folder", sa.Text(), nullable=False),
                sa.Column("experiment_id", sa.String(length=36), nullable=False),
                sa.Column("pair", sa.String(length=64), nullable=False),
                sa.Column("operator", sa.String(length=200), nullable=False),
                sa.Column("include", sa.JSON(), nullable=False),
                sa.Column("exclude", sa.JSON(), nullable=False),
                sa.Column("quiet_seconds", sa.Float(), nullable=False),
                sa.Column("polling", sa.Boolean(), nullable=False),
                sa.Column("convert", sa.Boolean(), nullable=False),
                sa.Column("free_space", sa.Boolean(), nullable=False),
                sa.Column("done_marker", sa.String(length=100), nullable=False),
                sa.Column("enabled", sa.Boolean(), nullable=False),
                sa.Column("created_at", NOW, nullable=False),
                sa.PrimaryKeyConstraint("id"),
            ],
            [("ix_watch_rules_server", ["server"])],
        ),
        "watch_ledger": (
            [
                sa.Column("rule_id", sa.String(length=36), nullable=False),
                sa.Column("rel_path", sa.Text(), nullable=False),
                sa.Column("version", sa.Integer(), nullable=False),
                sa.Column("seq", sa.Integer(), nullable=False),
                sa.Column("size", sa.BigInteger(), nullable=False),
                sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
                sa.Column("sha256", sa.String(length=64), nullable=False),
                sa.Column("measurement_id", sa.String(length=36), nullable=False),
                sa.Column("file_id", sa.String(length=36), nullable=False),
                sa.Column("state", sa.String(length=16), nullable=False),
                sa.Column("error", sa.Text(), nullable=False),
                sa.Column("updated_at", NOW, nullable=False),
                sa.PrimaryKeyConstraint("rule_id", "rel_path", "version"),
            ],
            [("ix_watch_ledger_seq", ["seq"]), ("ix_watch_ledger_sha256", ["sha256"])],
        ),
        "upload_claims": (
            [
                sa.Column("file_id", sa.String(length=36), nullable=False),
                sa.Column("owner", sa.String(length=300), nullable=False),
                sa.Column("lease_until", sa.Float(), nullable=False),
                sa.PrimaryKeyConstraint("file_id"),
            ],
            [],
        ),
        "catalog_addresses": (
            [
                sa.Column("url", sa.String(length=500), nullable=False),
                sa.Column("catalog_id", sa.String(length=64), nullable=False),
                sa.Column("seen_at", NOW, nullable=False),
                sa.PrimaryKeyConstraint("url"),
            ],
            [],
        ),
    }


def _verdict_columns() -> list[sa.Column]:
    """Schema 6's step: the catalog's FAIRmat verdict on each derived file (null: not judged)."""
    return [
        sa.Column("server_valid", sa.Boolean(), nullable=True),
        sa.Column("server_validator", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("server_report", sa.Text(), nullable=False, server_default=""),
    ]


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for table, (items, indexes) in _tables().items():
        if table in existing:
            continue
        op.create_table(table, *items)
        for name, columns in indexes:
            op.create_index(name, table, columns)
    if "derived_jobs" in existing:  # a file of schema 2 to 5: add what 6 added
        have = {column["name"] for column in inspector.get_columns("derived_jobs")}
        missing = [c for c in _verdict_columns() if c.name not in have]
        if missing:
            with op.batch_alter_table("derived_jobs") as batch_op:
                for column in missing:
                    batch_op.add_column(column)


def downgrade() -> None:
    for table in reversed(list(_tables())):
        op.drop_table(table)
