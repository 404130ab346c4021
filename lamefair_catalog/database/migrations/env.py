"""Alembic environment: the engine comes from lamefair_catalog.database.engine (never from an ini file)."""

from alembic import context

from lamefair_catalog.database.models import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        # The server's statement timeout guards requests; a migration of a big table may
        # legitimately run longer (this transaction only).
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
