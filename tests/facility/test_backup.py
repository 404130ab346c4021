"""The README's backup and upgrade steps on the facility stack: `pg_dump -Fc` of the catalog's
database, `pg_restore` into an empty one, `lamefair-catalog migrate`, and a catalog process on
the restored database serving the same catalog (its id, hierarchy and change feed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.facility.observers import all_revisions
from tests.facility.stack import Stack
from tests.support import components
from tests.support.catalog import Api, catalog_env, start_catalog

pytestmark = pytest.mark.facility


def test_a_restored_dump_serves_the_same_catalog(facility: Stack, tmp_path, report) -> None:
    pg_dump, pg_restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    if not (pg_dump and pg_restore):
        components.unavailable("PostgreSQL client tools", "pg_dump/pg_restore not on PATH")
    api = Api(facility.url, facility.admin_token)
    api.make_hierarchy()  # something to find again, whatever ran before
    dump = tmp_path / "catalog.dump"
    source = facility.database.libpq_url
    subprocess.run([pg_dump, "-Fc", "-f", str(dump), source], check=True, timeout=120)

    restored = components.create_postgres_database()
    try:
        subprocess.run(
            [pg_restore, "--no-owner", "-d", restored.libpq_url, str(dump)],
            check=True,
            timeout=120,
        )
        # The upgrade step, as on a new release: migrate (here a no-op at head), then serve.
        env = catalog_env(restored.url, facility.seaweed, facility.oidc.issuer)
        migrate = subprocess.run(
            [str(Path(sys.executable).parent / "lamefair-catalog"), "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrate.returncode == 0, migrate.stderr
        catalog = start_catalog(
            restored.url, facility.seaweed, facility.oidc.issuer, tmp_path, migrate_first=False
        )
        try:
            again = Api(catalog.url, facility.admin_token)
            health = (api.ok(api.get("/api/health"), 200), again.ok(again.get("/api/health"), 200))
            assert health[0]["catalog_id"] == health[1]["catalog_id"]
            assert again.ok(again.get("/api/projects"), 200) == api.ok(
                api.get("/api/projects"), 200
            )
            revisions = all_revisions(catalog.url, facility.admin_token)
            assert revisions == all_revisions(facility.url, facility.admin_token)
        finally:
            catalog.stop()
    finally:
        components.drop_postgres_database(restored)
    report(
        f"backup: pg_dump -Fc {dump.stat().st_size / 1024:.0f} KiB, restored, migrated, "
        f"served: same catalog_id, projects and {len(revisions)} change-feed revisions"
    )
