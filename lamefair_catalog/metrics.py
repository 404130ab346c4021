"""Prometheus metrics of the catalog (prometheus-client), served at `/metrics` (web/observe.py).

Counters and histograms live in each process's memory: with several `serve` processes (or
uvicorn workers) each one has its own, so scrape every process (Prometheus adds them up with
`sum by`); a scrape through the load balancer sees one process at random. What the database holds
(fixity state, uploads in progress) is read from the database at scrape time by `DatabaseFacts`,
so every process reports the same, catalog-wide figures for those (use `max`, not `sum`).
"""

from __future__ import annotations

import logging

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

# The default registry: it carries the process's own figures too (CPU, memory, open files).
REQUESTS = Counter(
    "lamefair_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "lamefair_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    registry=REGISTRY,
)
S3_ERRORS = Counter(
    "lamefair_s3_errors",
    "S3 calls that failed: `refused` (S3 answered an error, `code` says which; NoSuchKey and "
    "404 are often expected), `not_answering` (timeout, connection), `breaker` (refused "
    "without asking while storage is not answering).",
    ["kind", "code"],
    registry=REGISTRY,
)
DATABASE_ERRORS = Counter(
    "lamefair_database_errors",
    "Requests that failed on the database: `unavailable`, `pool_timeout`, `breaker`.",
    ["kind"],
    registry=REGISTRY,
)

log = logging.getLogger("lamefair_catalog.metrics")


class DatabaseFacts:
    """Catalog-wide figures read from the database at each scrape (cheap GROUP BY counts).
    A database that does not answer leaves them out of that scrape (and says so in the log).
    One instance, registered once; the app hands it its sessions (`use`)."""

    def __init__(self) -> None:
        self.sessions = None

    def use(self, sessions) -> None:
        self.sessions = sessions

    def describe(self):
        return []  # no names up front: describing must not query the database

    def collect(self):
        from lamefair_catalog.database.models import File, FixityCheck, FixityObject, FixityPass

        if self.sessions is None:
            return
        try:
            with self.sessions() as session:
                by_state = session.execute(
                    select(FixityObject.last_result, func.count()).group_by(
                        FixityObject.last_result
                    )
                ).all()
                latest = session.execute(
                    select(FixityPass.id, FixityPass.finished_at)
                    .order_by(FixityPass.id.desc())
                    .limit(1)
                ).first()
                in_pass = 0
                if latest is not None:  # one pass's rows, through the pass_id index
                    in_pass = session.scalar(
                        select(func.count())
                        .select_from(FixityCheck)
                        .where(FixityCheck.pass_id == latest.id)
                    )
                uploading = session.scalar(
                    select(func.count()).select_from(File).where(File.state == "uploading")
                )
        except Exception as exc:  # noqa: BLE001 - a scrape must answer whatever the database does
            log.warning("metrics: database figures left out (%s)", type(exc).__name__)
            return
        objects = GaugeMetricFamily(
            "lamefair_fixity_objects",
            "Stored objects by the result of their last fixity check (`unchecked`: never yet).",
            labels=["result"],
        )
        for result, count in by_state:
            objects.add_metric([result or "unchecked"], count)
        yield objects
        yield GaugeMetricFamily(
            "lamefair_fixity_pass_checked",
            "Objects checked so far in the latest fixity pass (compare with the sum of "
            "lamefair_fixity_objects).",
            value=in_pass or 0,
        )
        yield GaugeMetricFamily(
            "lamefair_fixity_pass_finished",
            "1 when the latest fixity pass has finished, 0 while it runs.",
            value=1 if latest is not None and latest.finished_at is not None else 0,
        )
        yield GaugeMetricFamily(
            "lamefair_uploads_in_progress",
            "Raw files whose upload has started and not finished.",
            value=uploading or 0,
        )


DATABASE_FACTS = DatabaseFacts()
REGISTRY.register(DATABASE_FACTS)
