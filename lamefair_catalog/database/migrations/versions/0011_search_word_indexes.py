"""search: trigram indexes for words in sample and experiment names and measurement descriptions

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 17:30:00

domain/search.py matches each word of `q` first against these small tables with
lower(column) LIKE '%word%'. Without an index that read every measurement (100,000 rows: 28 ms
of each word search at the bench's scale, even with every description empty); with a GIN
trigram index it is a look-up (0.3 ms). PostgreSQL only: pg_trgm ships with PostgreSQL (contrib)
and is a trusted extension since version 13, so the catalog's database owner may create it.
SQLite keeps scanning (an embedded catalog's tables are small).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lamefair_catalog.database.engine import MigrationRefused

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_samples_name_words": ("samples", "name"),
    "ix_experiments_name_words": ("experiments", "name"),
    "ix_measurements_description_words": ("measurements", "description"),
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        raise MigrationRefused(
            "The catalog's search needs PostgreSQL's pg_trgm extension, which could not be "
            "created as this database user. Ask the database's owner to run "
            "`CREATE EXTENSION pg_trgm;` in this database (where the server lacks it, install "
            f"PostgreSQL's contrib package first), then run the migration again. ({exc.orig})"
        ) from None
    # The operator class lives in the extension's schema, which may not be on the search path
    # (a database whose extension was created in another schema).
    schema = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    ).scalar_one()
    for name, (table, column) in _INDEXES.items():
        bind.exec_driver_sql(
            f'CREATE INDEX {name} ON {table} USING gin (lower({column}) "{schema}".gin_trgm_ops)'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, _) in _INDEXES.items():
        op.drop_index(name, table_name=table)
