"""Migration 0009 on a PostgreSQL database that already holds acquisition values: the covering
search index is built from the rows there, a search over them is answered from the index alone
(no wide rows read), and the downgrade gives back the 0008 index with the rows intact. And 0011's
pg_trgm refused to a user who may not create it, with what to ask for."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from lamefair_catalog.database.engine import _alembic_config, migrate
from tests.support import components
from tests.support.catalog import catalog_env

SCHEMA = "migration_0009"
COUNTED = (
    "SELECT instrument, count(*) FROM acquisition_values WHERE proposal_id = :p AND stored"
    " AND voltage BETWEEN 180e3 AND 210e3 GROUP BY instrument ORDER BY instrument"
)


def _insert_old_rows(connection, proposal: uuid.UUID) -> None:
    """Rows as a 0008 catalog holds them (the parents are not needed for the index: the
    foreign-key triggers are off for this session only)."""
    connection.exec_driver_sql("SET session_replication_role = replica")
    for n, (instrument, voltage) in enumerate(
        [("JEOL ARM", 200e3), ("JEOL ARM", 200e3), ("FEI Titan", 300e3), ("FEI Tecnai", 200e3)]
    ):
        connection.execute(
            text(
                "INSERT INTO acquisition_values (derived_id, file_id, measurement_id,"
                " experiment_id, sample_id, proposal_id, path, operator, instrument, vendor,"
                " model, detector, voltage, acquired_at, acquired_text, stored)"
                " VALUES (:d, :f, :m, :m, :m, :p, :path, 'op', :i, '', '', 'HAADF', :v,"
                " '2026-01-01', '', true)"
            ),
            {
                "d": uuid.uuid4(),
                "f": uuid.uuid4(),
                "m": uuid.uuid4(),
                "p": proposal,
                "path": f"img-{n}.tif",
                "i": instrument,
                "v": voltage,
            },
        )
    connection.exec_driver_sql("SET session_replication_role = DEFAULT")


def _plan(connection, proposal: uuid.UUID) -> str:
    connection.exec_driver_sql("SET enable_seqscan = off")  # four rows: a seq scan would win
    rows = connection.execute(text("EXPLAIN " + COUNTED), {"p": proposal})
    return "\n".join(row[0] for row in rows)


def test_search_index_is_built_from_existing_values_and_goes_back(postgres_database):
    engine = create_engine(
        postgres_database.url, connect_args={"options": f"-csearch_path={SCHEMA}"}
    )
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
    command.upgrade(_alembic_config(engine), "0008")
    proposal = uuid.uuid4()
    with engine.begin() as connection:
        _insert_old_rows(connection, proposal)

    migrate(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE acquisition_values")  # the visibility map
        found = connection.execute(text(COUNTED), {"p": proposal}).all()
        plan = _plan(connection, proposal)
    assert [tuple(r) for r in found] == [("FEI Tecnai", 1), ("JEOL ARM", 2)]
    assert "Index Only Scan using ix_acquisition_search" in plan, plan

    command.downgrade(_alembic_config(engine), "0008")
    with engine.connect() as connection:
        indexes = set(
            connection.execute(
                text(
                    "SELECT indexname FROM pg_indexes"
                    " WHERE schemaname = :s AND tablename = 'acquisition_values'"
                ),
                {"s": SCHEMA},
            ).scalars()
        )
        assert connection.execute(text(COUNTED), {"p": proposal}).all() == found
    assert "ix_acquisition_proposal_acquired" in indexes
    assert "ix_acquisition_search" not in indexes
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {SCHEMA} CASCADE")
    engine.dispose()


def test_a_user_who_may_not_create_pg_trgm_is_told_what_to_ask_for(seaweed, tmp_path):
    """0011 needs the pg_trgm extension. A catalog user without CREATE on the database gets
    `migrate` refused with what to ask the database's owner, nothing half-applied; once the
    owner has created the extension the same command finishes."""
    import psycopg

    database = components.create_postgres_database()
    role = f"catalog_{uuid.uuid4().hex[:8]}"
    admin = components.postgres_admin_url().rstrip("/")
    try:
        with psycopg.connect(f"{admin}/{database.name}", autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {role} LOGIN")
            conn.execute(f"REVOKE CREATE ON DATABASE {database.name} FROM PUBLIC")
            conn.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {role}")
        as_role = database.url.replace("//postgres@", f"//{role}@", 1)
        assert as_role != database.url
        env = catalog_env(as_role, seaweed, "http://127.0.0.1:1")
        exe = str(Path(sys.executable).parent / "lamefair-catalog")
        refused = subprocess.run([exe, "migrate"], env=env, capture_output=True, text=True)
        assert refused.returncode == 2, refused.stderr
        assert "CREATE EXTENSION pg_trgm" in refused.stderr
        assert "Traceback" not in refused.stderr
        engine = create_engine(database.url)
        with engine.connect() as connection:  # one transaction: not even 0001 stayed
            assert not connection.execute(text("SELECT to_regclass('samples')")).scalar()
        engine.dispose()
        with psycopg.connect(f"{admin}/{database.name}", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_trgm")
        migrated = subprocess.run([exe, "migrate"], env=env, capture_output=True, text=True)
        assert migrated.returncode == 0, migrated.stderr
        assert "schema revision 0011" in migrated.stdout
    finally:
        components.drop_postgres_database(database)
        with psycopg.connect(components._admin_conninfo(), autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")
