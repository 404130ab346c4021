"""Search by acquisition values: 1,000,000 files' values in PostgreSQL, filtered searches with
facets through the HTTP API (target p95 < 100 ms), and the Find panel's first page (< 300 ms).

A fresh PostgreSQL database is migrated, then filled with COPY (indexes of the values table are
dropped for the load and built again, then VACUUM ANALYZE, as a bulk import and autovacuum
would): 200 proposals, 10 samples each, 100,000 measurements of 10 files each, every file with a
stored NXem and its values, a spread of instruments, voltages, detectors and operators over
seven years. The caller is an ordinary member (not an operator: the access filter applies) of 60
proposals, by group. The catalog runs as the real server (SeaweedFS and the OIDC provider beside
it) and is asked over HTTP; the panel is the real FindPanel offscreen with the desktop's
CatalogClient.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.report import figure
from lamefair_catalog.database.engine import make_engine, migrate
from lamefair_catalog.database.models import AcquisitionValues
from lamefair_catalog.embedded.seaweed import S3Credentials, SeaweedServer
from tests.support import components
from tests.support.catalog import oidc_login, start_catalog

PROPOSALS, SAMPLES_PER, EXPERIMENTS_PER, FILES_PER = 200, 10, 2, 10
MEMBER_OF = 60
USER = ("bench-reader", ["bench-group"])
# (vendor, model, detectors, voltages in V, pixel sizes in m (log-uniform range), field of view?)
INSTRUMENTS = [
    ("Carl Zeiss Microscopy", "GeminiSEM 500", ("InLens", "SE2", "BSD"), (1e3, 3e3, 5e3, 15e3)),
    ("FEI", "Helios NanoLab 660", ("ETD", "TLD", "ICE"), (2e3, 5e3, 10e3, 30e3)),
    ("JEOL Ltd.", "JSM-7800F", ("LED", "UED"), (5e3, 15e3, 20e3)),
    ("JEOL Ltd.", "JEM-ARM200F", ("HAADF", "ABF", "OneView"), (80e3, 200e3)),
    ("Thermo Fisher Scientific", "Titan Themis", ("HAADF", "DF4", "Ceta"), (80e3, 200e3, 300e3)),
    ("FEI", "Tecnai G2 F20", ("Eagle", "HAADF"), (120e3, 200e3)),
    ("TVIPS", "TemCam-F416", ("TVIPS camera",), (100e3, 200e3)),
    ("Hitachi", "SU8230", ("SE(U)", "SE(L)"), (1e3, 5e3, 10e3)),
]
ELEMENTS = ["Fe", "O", "Au", "C", "Si", "Ti", "Pt", "Ce", "Cu", "Ni", "Al", "N", "Ga", "As"]
OPERATORS = [f"operator-{n:02d}" for n in range(60)]
SEARCHES = [
    {"voltage": "180e3..210e3"},
    {"instrument": "JEOL Ltd. JEM-ARM200F"},
    {"voltage": "4e3..6e3", "pixel_size": "1e-9..5e-9"},
    {"element": "Fe", "from": "2024-01-01", "to": "2024-12-31"},
    {"detector": "HAADF", "voltage": "250e3.."},
    {"operator": "operator-07"},
    {"voltage": "..20e3", "dwell_time": "..2e-6", "from": "2025-06-01"},
    {"q": "lamella", "voltage": "100e3.."},
]


# The values table's columns as the model declares them, so the load follows the schema.
VALUE_COLUMNS = [column.name for column in AcquisitionValues.__table__.columns]


def _row(columns: list[str], **values) -> tuple:
    """A COPY row in the table's column order; a column the bench does not fill is an error."""
    missing = set(columns) ^ set(values)
    if missing:
        raise RuntimeError(f"the bench fills no column(s) / unknown column(s): {sorted(missing)}")
    return tuple(values[name] for name in columns)


def _copy(conn, table: str, columns: list[str], rows) -> int:
    count = 0
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _fill(libpq_url: str, rng: random.Random, n_files: int) -> dict:
    import psycopg

    now = datetime.now(UTC).replace(tzinfo=None)
    started = time.perf_counter()
    with psycopg.connect(libpq_url) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'acquisition_values' "
            "AND indexname NOT LIKE '%pkey' AND indexname NOT LIKE '%file_id_key'"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        project = uuid.uuid4()
        _copy(
            conn,
            "projects",
            ["id", "name", "slug", "description", "created_at", "created_by"],
            [(project, "Bench facility", "bench-facility", "", now, "bench")],
        )
        proposals, member_rows, samples, experiments = [], [], [], []
        for p in range(PROPOSALS):
            pid = uuid.uuid4()
            proposals.append(
                (
                    pid,
                    project,
                    f"P-{p:04d}",
                    f"p-{p:04d}",
                    "PI",
                    None,
                    f"Proposal {p}",
                    "",
                    f"raw-{p:04d}",
                    f"mirror-{p:04d}",
                    now,
                    "bench",
                )
            )
            member_rows.append((pid, f"pi-{p}", 0))
            if p < MEMBER_OF:
                member_rows.append((pid, USER[1][0], 1))
            for s in range(SAMPLES_PER):
                sid = uuid.uuid4()
                atoms = rng.sample(ELEMENTS, rng.randint(1, 3))
                samples.append(
                    (
                        sid,
                        pid,
                        f"sample {s} {rng.choice(['lamella', 'powder', 'film', 'grid'])}",
                        f"s-{s}",
                        "",
                        None,
                        json.dumps(atoms),
                        "",
                        False,
                        "",
                        now,
                        "bench",
                    )
                )
                for e in range(EXPERIMENTS_PER):
                    experiments.append(
                        (uuid.uuid4(), sid, f"session {e}", f"e-{e}", "", None, None, now, "bench")
                    )
        _copy(
            conn,
            "proposals",
            [
                "id",
                "project_id",
                "number",
                "number_slug",
                "pi_name",
                "date",
                "title",
                "description",
                "raw_bucket",
                "mirror_bucket",
                "created_at",
                "created_by",
            ],
            proposals,
        )
        _copy(conn, "proposal_members", ["proposal_id", "principal", "position"], member_rows)
        _copy(
            conn,
            "samples",
            [
                "id",
                "proposal_id",
                "name",
                "slug",
                "identifier",
                "preparation_date",
                "atom_types",
                "physical_form",
                "is_simulation",
                "description",
                "created_at",
                "created_by",
            ],
            samples,
        )
        _copy(
            conn,
            "experiments",
            [
                "id",
                "sample_id",
                "name",
                "slug",
                "description",
                "start_time",
                "end_time",
                "created_at",
                "created_by",
            ],
            experiments,
        )
        sample_of = {s[0]: s for s in samples}
        proposal_of = {p[0]: p for p in proposals}
        measurements, files, derived, values = [], [], [], []
        measurements_per = n_files // FILES_PER // len(experiments)
        start = datetime(2019, 1, 1)
        span = (datetime(2026, 12, 1) - start).total_seconds()
        sha = "0" * 64
        for experiment in experiments:
            sid = experiment[1]
            pid = sample_of[sid][1]
            proposal = proposal_of[pid]
            for m in range(measurements_per):
                mid = uuid.uuid4()
                vendor, model, detectors, voltages = rng.choice(INSTRUMENTS)
                operator = rng.choice(OPERATORS)
                measurements.append(
                    (mid, experiment[0], f"m-{m}", "generic", operator, "", now, "bench")
                )
                when = start + timedelta(seconds=rng.random() * span)
                tem = voltages[-1] >= 80e3
                for f in range(FILES_PER):
                    fid, did = uuid.uuid4(), uuid.uuid4()
                    key = f"x/{experiment[0].hex[:8]}/m-{m}/img-{f:03d}.tif"
                    files.append(
                        (
                            fid,
                            mid,
                            f"img-{f:03d}.tif",
                            key,
                            4_000_000,
                            sha,
                            "stored",
                            None,
                            None,
                            now,
                            "",
                        )
                    )
                    derived.append(
                        (
                            did,
                            fid,
                            proposal[9],
                            key[:-4] + ".nxs",
                            2_000_000,
                            sha,
                            True,
                            "",
                            "stored",
                            now,
                            True,  # judged long ago: a catalog in service has no backlog
                            "bench",
                            "",
                            now,
                        )
                    )
                    pixel = 10 ** rng.uniform(-11.5, -9.5) if tem else 10 ** rng.uniform(-9.5, -6)
                    acquired = when + timedelta(seconds=20 * f)
                    values.append(
                        _row(
                            VALUE_COLUMNS,
                            derived_id=did,
                            file_id=fid,
                            measurement_id=mid,
                            experiment_id=experiment[0],
                            sample_id=sid,
                            proposal_id=pid,
                            path=f"img-{f:03d}.tif",
                            operator=operator,
                            instrument=f"{vendor} {model}",
                            vendor=vendor,
                            model=model,
                            detector=rng.choice(detectors),
                            voltage=rng.choice(voltages),
                            magnification=None if tem else rng.choice((1e3, 5e3, 2e4, 1e5)),
                            field_of_view=pixel * 1024,
                            pixel_size=pixel,
                            dwell_time=None if tem else 10 ** rng.uniform(-7, -5),
                            working_distance=None if tem else rng.uniform(2e-3, 10e-3),
                            camera_length=rng.choice((0.1, 0.2, 0.4)) if tem else None,
                            stage_tilt=rng.uniform(-30, 30),
                            acquired_at=acquired,
                            acquired_text=acquired.isoformat() + "+00:00",
                            width=1024,
                            height=1024,
                            frames=1,
                            valid=True,
                            stored=True,
                        )
                    )
            if len(files) >= 100_000:
                _flush(conn, measurements, files, derived, values)
        _flush(conn, measurements, files, derived, values)
        load = time.perf_counter() - started
        for _, definition in indexes:
            conn.execute(definition)
        conn.commit()
        # VACUUM sets the visibility map, which index-only scans need; in service autovacuum
        # does this after inserts (autovacuum_vacuum_insert_threshold, PostgreSQL 13+).
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE acquisition_values")
        conn.execute("ANALYZE")
        count = conn.execute("SELECT count(*) FROM acquisition_values").fetchone()[0]
    return {"rows": count, "load_s": load, "total_s": time.perf_counter() - started}


def _flush(conn, measurements, files, derived, values) -> None:
    _copy(
        conn,
        "measurements",
        [
            "id",
            "experiment_id",
            "slug",
            "instrument_pair",
            "operator",
            "description",
            "created_at",
            "created_by",
        ],
        measurements,
    )
    _copy(
        conn,
        "files",
        [
            "id",
            "measurement_id",
            "path",
            "key",
            "size",
            "sha256",
            "state",
            "upload_id",
            "part_size",
            "stored_at",
            "error",
        ],
        files,
    )
    _copy(
        conn,
        "derived_files",
        [
            "id",
            "source_file_id",
            "bucket",
            "key",
            "size",
            "sha256",
            "valid",
            "report",
            "state",
            "created_at",
            "server_valid",
            "server_validator",
            "server_report",
            "server_checked_at",
        ],
        derived,
    )
    _copy(conn, "acquisition_values", VALUE_COLUMNS, values)
    conn.commit()
    for rows in (measurements, files, derived, values):
        rows.clear()


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def _panel_first_page(url: str, token: str, repeat: int) -> list[float]:
    """Time from Search to the first page shown, in the real FindPanel offscreen."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from lamefair_desktop.catalog.client import CatalogClient
    from lamefair_desktop.ui.panels.find_panel import FindPanel

    app = QApplication.instance() or QApplication([])
    times = []
    with CatalogClient(url, token) as client:
        panel = FindPanel()
        panel.attach(client)
        panel.show()
        shown: list[int] = []
        panel.searched.connect(shown.append)
        for i in range(repeat):
            panel.voltage_low.setText(["180", "4", "80", "250"][i % 4])
            panel.voltage_high.setText(["210", "6", "", ""][i % 4])
            shown.clear()
            started = time.perf_counter()
            panel.search()
            while not shown and time.perf_counter() - started < 30:
                app.processEvents()
                time.sleep(0.0005)
            times.append(time.perf_counter() - started)
            if not shown or panel.model.rowCount() == 0:
                raise RuntimeError(f"the Find panel showed no results: {panel.status.text()}")
        panel.close()
        _release_qt(app, panel)
    return times


def _release_qt(app, panel) -> None:
    """Free the panel, its jobs and the pools' threads while the QApplication still exists.
    Left to the interpreter's final collection, PySide wrappers were collected after Qt had
    torn down their C++ side and the process died with `none_dealloc` (exit code 134) after
    printing its figures. processEvents() does not run deferred deletes: send them."""
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent

    from lamefair_desktop.workers.pools import all_pools

    for pool in all_pools():
        pool.waitForDone(10_000)
    panel.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()
    gc.collect()


def run(quick: bool = False) -> None:
    import psycopg

    rng = random.Random(19)
    # A database kept from an earlier run (LAMEFAIR_BENCH_SEARCH_DB names it) is used as it is
    # and kept: for working on the queries without loading a million rows each time.
    kept = os.environ.get("LAMEFAIR_BENCH_SEARCH_DB", "")
    name = kept or f"search_bench_{secrets.token_hex(4)}"
    admin = components._admin_conninfo()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    base = components.postgres_admin_url().rstrip("/")
    base = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    libpq_url = f"{base}/{name}"
    folder = Path(tempfile.mkdtemp(prefix="search-bench-"))
    seaweed = provider = catalog = None
    try:
        engine = make_engine(libpq_url.replace("postgresql://", "postgresql+psycopg://", 1))
        migrate(engine)
        engine.dispose()
        if not exists:
            filled = _fill(libpq_url, rng, 100_000 if quick else 1_000_000)
            figure("values rows in PostgreSQL", filled["rows"], "rows")
            figure(
                "bulk load (COPY) then indexes + VACUUM ANALYZE",
                filled["total_s"],
                "s",
                f"COPY alone {filled['load_s']:.0f} s",
            )
        seaweed = SeaweedServer(folder / "seaweed", S3Credentials.generate()).start()
        provider = components.start_oidc_provider(folder)
        catalog = start_catalog(
            libpq_url.replace("postgresql://", "postgresql+psycopg://", 1),
            seaweed,
            provider.issuer,
            folder,
            migrate_first=False,
        )
        token = oidc_login(provider.issuer, *USER)["access_token"]
        http = httpx.Client(
            base_url=catalog.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        for params in SEARCHES:  # warm the caches once, and check each finds something
            page = http.get("/api/search", params=params).raise_for_status().json()
            if not (page["total"] and page["facets"]["instruments"]):
                raise RuntimeError(f"the bench search {params} found nothing")
        times, totals = [], []
        rounds = 5 if quick else 25
        for _ in range(rounds):
            for params in SEARCHES:
                started = time.perf_counter()
                page = http.get("/api/search", params={**params, "limit": 50}).json()
                times.append(time.perf_counter() - started)
                totals.append(page["total"])
        p50, p95 = _percentiles(times)
        note = f"{len(times)} requests, {min(totals):,}..{max(totals):,} matches each"
        figure("filtered search with facets, p50", p50 * 1e3, "ms", note)
        figure("filtered search with facets, p95", p95 * 1e3, "ms", "target < 100 ms")
        broad = []
        for _ in range(rounds):
            started = time.perf_counter()
            total = http.get("/api/search").json()["total"]
            broad.append(time.perf_counter() - started)
        p50, p95 = _percentiles(broad)
        figure(
            "unfiltered (all the caller reads) with facets, p50",
            p50 * 1e3,
            "ms",
            f"{total:,} matches",
        )
        figure("unfiltered (all the caller reads) with facets, p95", p95 * 1e3, "ms")
        panel = _panel_first_page(catalog.url, token, 12 if quick else 40)
        p50, p95 = _percentiles(panel)
        figure("Find panel: Search to first page shown, p50", p50 * 1e3, "ms")
        figure("Find panel: Search to first page shown, p95", p95 * 1e3, "ms", "target < 300 ms")
        figure(
            "machine load (1-minute average) at the end",
            os.getloadavg()[0],
            "",
            f"{os.cpu_count()} cores",
        )
        http.close()
    finally:
        if catalog is not None:
            catalog.stop()
        if provider is not None:
            components.stop_pid(provider.process)
        if seaweed is not None:
            seaweed.stop()
        if not kept:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
