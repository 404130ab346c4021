"""Exceptions to JSON answers: `{"detail": <for people>, ...}` with the status each one means.

Domain errors carry their status; a dependency that is not answering is a 503 with Retry-After
(the breaker's cool-down); a database constraint no command foresaw is a 409, never a 500; a body
FastAPI refuses is a 422 whose detail names each field at fault.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from lamefair_catalog.database.engine import DatabaseNotAnswering
from lamefair_catalog.domain.errors import CatalogError
from lamefair_catalog.metrics import DATABASE_ERRORS
from lamefair_catalog.storage.errors import StorageError, StorageNotAnswering
from lamefair_catalog.web.auth import Unauthenticated
from lamefair_catalog.web.observe import request_id_of

log = logging.getLogger("lamefair_catalog")


def json_error(
    status: int, detail: str, retry_after: float | None = None, **extra: object
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers or None)


def describe_validation(exc: RequestValidationError) -> tuple[str, list[dict]]:
    errors = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = error.get("msg", "invalid").removeprefix("Value error, ")  # our validators'
        errors.append({"field": location, "message": message})
    summary = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5])
    return f"The request is not valid: {summary.rstrip('.')}.", errors


def _cool_down(request: Request) -> float:
    return request.app.state.settings.outage_cool_down


def _catalog_error(request: Request, exc: CatalogError) -> JSONResponse:
    return json_error(exc.status, exc.detail, **exc.extra)


def _where(request: Request) -> str:
    """The request, as error log lines name it: with its id (web/observe.py)."""
    return f"{request.method} {request.url.path} (request_id={request_id_of(request)})"


def _database_not_answering(request: Request, exc: DatabaseNotAnswering) -> JSONResponse:
    DATABASE_ERRORS.labels("breaker").inc()
    return json_error(503, str(exc), retry_after=_cool_down(request))


def _unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
    return json_error(401, str(exc))


def _storage_error(request: Request, exc: StorageError) -> JSONResponse:
    if isinstance(exc, StorageNotAnswering):  # refused without asking: no log line each
        return json_error(503, str(exc), retry_after=_cool_down(request))
    log.warning("storage error on %s: %s", _where(request), exc)
    return json_error(503, f"{exc} Try again in a moment.")


def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
    log.warning("integrity error on %s", _where(request))
    return json_error(409, "The request conflicts with an existing entry.")


def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
    DATABASE_ERRORS.labels("unavailable").inc()
    log.error("database error on %s: %s", _where(request), exc.orig)
    return json_error(503, "The catalog database is unavailable; try again shortly.")


def _database_busy(request: Request, exc: PoolTimeout) -> JSONResponse:
    # Every pooled connection is taken: by requests the database is not answering, or by
    # many slow ones. Bounded by pool_timeout, so it never waits forever.
    DATABASE_ERRORS.labels("pool_timeout").inc()
    log.error("no free database connection on %s", _where(request))
    return json_error(
        503,
        "The catalog has no free database connection (waited "
        f"{request.app.state.settings.db_pool_timeout:.0f} s); try again in a moment.",
        retry_after=_cool_down(request),
    )


def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    detail, errors = describe_validation(exc)
    return json_error(422, detail, errors=errors)


HANDLERS = {
    CatalogError: _catalog_error,
    DatabaseNotAnswering: _database_not_answering,
    Unauthenticated: _unauthenticated,
    StorageError: _storage_error,
    IntegrityError: _integrity_error,
    OperationalError: _database_down,
    PoolTimeout: _database_busy,
    RequestValidationError: _invalid,
}


def install_error_handlers(app: FastAPI) -> None:
    for exception, handler in HANDLERS.items():
        app.add_exception_handler(exception, handler)
