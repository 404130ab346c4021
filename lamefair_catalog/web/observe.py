"""Per-request observability: a request id, one structured log line, Prometheus figures.

Every request gets an id: the client's `X-Request-ID` when it sends a sane one (letters, digits,
`._-`, at most 64), else a new one. It is returned as `X-Request-ID`, named in the request's log
line and in the log lines of errors, so the id a desktop shows in its error message finds the
server's side of the failure. The log line is key=value (logger `lamefair_catalog.requests`):
`request_id=… method=GET route=/api/files/{file_id} status=404 ms=3.1 user=carol`, at INFO, at
WARNING for 4xx and ERROR for 5xx.

Routes are counted by their template (`/api/files/{file_id}`), never by the raw path, so the
number of series stays bounded; a path that matches no route counts as `unmatched`.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from lamefair_catalog.metrics import LATENCY, REGISTRY, REQUESTS

HEADER = "X-Request-ID"
SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("lamefair_catalog.requests")

# The id of the request this thread or task is serving, for log lines written while serving it.
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "lamefair_request_id", default="-"
)


def request_id_of(request: Request) -> str:
    return getattr(request.state, "request_id", None) or "-"


def _route_template(request: Request) -> str:
    """`/api/files/{file_id}`. FastAPI's nested routers leave their prefix out of the matched
    route's path (`/files/{file_id}`): it is what precedes the route's own part of the path."""
    route = request.scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not template:
        return "unmatched"
    path = request.url.path
    try:
        own = template.format(**{k: str(v) for k, v in request.path_params.items()})
    except (KeyError, IndexError, ValueError):
        return template
    return path[: len(path) - len(own)] + template if path.endswith(own) else template


def _quote(value: str) -> str:
    return value if value and " " not in value and '"' not in value else f'"{value}"'


def install_observability(app: FastAPI) -> None:
    @app.middleware("http")
    async def observe(request: Request, call_next) -> Response:
        given = request.headers.get(HEADER, "")
        request_id = given if SANE_ID.match(given) else uuid.uuid4().hex
        request.state.request_id = request_id
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:  # a bug: answer with the id, so the report names this log line
            log.exception("request_id=%s unhandled error", request_id)
            response = JSONResponse(
                {
                    "detail": "The catalog failed unexpectedly; tell its administrators the "
                    f"request id {request_id}."
                },
                status_code=500,
            )
        finally:
            current_request_id.reset(token)
        seconds = time.perf_counter() - started
        route = _route_template(request)
        if route != "/metrics":
            REQUESTS.labels(request.method, route, str(response.status_code)).inc()
            LATENCY.labels(request.method, route).observe(seconds)
        response.headers[HEADER] = request_id
        status = response.status_code
        level = (
            logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
        )
        log.log(
            level,
            "request_id=%s method=%s route=%s path=%s status=%d ms=%.1f user=%s",
            request_id,
            request.method,
            _quote(route),
            _quote(request.url.path),
            status,
            seconds * 1000,
            _quote(getattr(request.state, "user", "") or "-"),
        )
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text format. Not authenticated (counts only, no names or ids): keep it
        to the monitoring network, e.g. refuse /metrics at the load balancer."""
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
