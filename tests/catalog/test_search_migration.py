"""Migration 0009 on a PostgreSQL database that already holds acquisition values: the covering
search index is built from the rows there, a search over them is answered from the index alone
(no wide rows read), and the downgrade gives back the 0008 index with the rows intact."""

from __future__ import annotations

import uuid

from alembic import command
from sqlalchemy import create_engine, text

from lamefair_catalog.database.engine import _alembic_config, migrate

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
