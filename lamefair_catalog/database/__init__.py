"""The catalog database: engine and sessions, tables, Alembic migrations, the catalog's own id."""
