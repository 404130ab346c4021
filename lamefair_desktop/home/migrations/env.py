"""Alembic environment of the desktop's local database: run by `local_db.open_local_db` on the
connection it has already locked (BEGIN IMMEDIATE), never from an ini file or the command line.

Batch mode because SQLite cannot ALTER most things: Alembic copies a table to change it. The
caller turns foreign keys off first: with them on, dropping `uploads` for such a copy would
delete every row of `upload_parts` (ON DELETE CASCADE).
"""

from alembic import context

from lamefair_desktop.home.tables import LocalBase

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=LocalBase.metadata,
    render_as_batch=True,
    compare_type=True,
)
# The caller's transaction is open, so this runs inside it; the caller commits.
with context.begin_transaction():
    context.run_migrations()
