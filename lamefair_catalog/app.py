"""The FastAPI application: wiring of settings, database, storage, identity and routes."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from lamefair_catalog import __version__
from lamefair_catalog import schemas as s
from lamefair_catalog.api import router
from lamefair_catalog.auth import Authenticator, Unauthenticated
from lamefair_catalog.commands import Catalog
from lamefair_catalog.db import (
    DatabaseNotAnswering,
    database_breaker,
    make_engine,
    make_session_factory,
)
from lamefair_catalog.errors import CatalogError
from lamefair_catalog.health import Probe, check_all
from lamefair_catalog.identity import CatalogIdentityReader
from lamefair_catalog.settings import Settings
from lamefair_catalog.shared import known_instrument_pairs
from lamefair_catalog.storage import Storage, StorageError, StorageNotAnswering
from lamefair_catalog.transfers import Transfers
from lamefair_catalog.verdicts import ServerVerdicts

log = logging.getLogger("lamefair_catalog")


def _json_error(
    status: int, detail: str, retry_after: float | None = None, **extra: object
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers or None)


def _describe_validation(exc: RequestValidationError) -> tuple[str, list[dict]]:
    errors = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = error.get("msg", "invalid").removeprefix("Value error, ")  # our validators'
        errors.append({"field": location, "message": message})
    summary = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5])
    return f"The request is not valid: {summary.rstrip('.')}.", errors


def create_app(settings: Settings, *, start_verdicts: bool = True) -> FastAPI:
    engine = make_engine(
        settings.database_url,
        connect_timeout=settings.db_connect_timeout,
        pool_timeout=settings.db_pool_timeout,
    )
    storage = Storage(settings)
    sessions = make_session_factory(engine)
    database = database_breaker(engine, settings.outage_cool_down)
    catalog = Catalog(settings, sessions, storage, database)
    identity = CatalogIdentityReader(sessions)
    authenticator = Authenticator(settings)

    app = FastAPI(
        title="lamefair catalog",
        version=__version__,
        description=(
            "Project hierarchy, presigned S3 transfers, README files next to the data and "
            "access control for lamefair. All sha256 values are lowercase hex."
        ),
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.catalog = catalog
    verdicts = ServerVerdicts(catalog)
    if start_verdicts:  # the embedded server starts it once its own storage answers
        verdicts.start()
    app.state.verdicts = verdicts
    app.state.transfers = Transfers(catalog, known_instrument_pairs(), verdicts.submit)
    app.state.authenticator = authenticator

    def auth_config() -> s.AuthConfig:
        return s.AuthConfig(
            mode="embedded" if settings.embedded else "oidc",
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            scopes=settings.oidc_scopes,
            audience=settings.oidc_audience,
        )

    def database_check() -> str:
        try:
            with engine.connect() as connection:
                connection.execute(text("select 1"))
            identity.get()  # read here, on the probe's thread: the route itself never waits on SQL
        except (OperationalError, PoolTimeout) as exc:
            database.learn(exc)
            return "unreachable"
        database.answered()
        return "ok"

    # A probe still running at the deadline means the dependency is not answering: refuse the
    # requests that need it at once instead of letting each one find out the slow way.
    probes = [
        Probe("database", database_check, on_silence=database.trip),
        Probe("storage", storage.ping, on_silence=storage.breaker.trip),
    ]

    async def health() -> s.HealthOut:
        states = await check_all(probes)
        return s.HealthOut(
            status="ok" if states["database"] == states["storage"] == "ok" else "degraded",
            version=__version__,
            catalog_id=identity.known,
            database=states["database"],
            storage=states["storage"],
            auth=auth_config(),
        )

    app.state.health = health
    app.state.auth_config = auth_config
    app.include_router(router)

    @app.exception_handler(CatalogError)
    def _catalog_error(request: Request, exc: CatalogError) -> JSONResponse:
        if isinstance(exc, DatabaseNotAnswering):
            return _json_error(503, exc.detail, retry_after=settings.outage_cool_down)
        return _json_error(exc.status, exc.detail, **exc.extra)

    @app.exception_handler(Unauthenticated)
    def _unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
        return _json_error(401, str(exc))

    @app.exception_handler(StorageError)
    def _storage_error(request: Request, exc: StorageError) -> JSONResponse:
        if isinstance(exc, StorageNotAnswering):  # refused without asking: no log line each
            return _json_error(503, str(exc), retry_after=settings.outage_cool_down)
        log.warning("storage error on %s %s: %s", request.method, request.url.path, exc)
        return _json_error(503, f"{exc} Try again in a moment.")

    @app.exception_handler(IntegrityError)
    def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error on %s %s", request.method, request.url.path)
        return _json_error(409, "The request conflicts with an existing entry.")

    @app.exception_handler(OperationalError)
    def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database error on %s %s: %s", request.method, request.url.path, exc.orig)
        return _json_error(503, "The catalog database is unavailable; try again shortly.")

    @app.exception_handler(PoolTimeout)
    def _database_busy(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every pooled connection is taken: by requests the database is not answering, or by
        # many slow ones. Bounded by pool_timeout, so it never waits forever.
        log.error("no free database connection on %s %s", request.method, request.url.path)
        return _json_error(
            503,
            "The catalog has no free database connection (waited "
            f"{settings.db_pool_timeout:.0f} s); try again in a moment.",
            retry_after=settings.outage_cool_down,
        )

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _describe_validation(exc)
        return _json_error(422, detail, errors=errors)

    return app
