"""A typed client for the catalog API (httpx): timeouts, retries, readable errors.

Retries (retry.py: the desktop's one policy) on connection errors and 502/503/504 (every write of
the API is idempotent: creates carry a client id, upload plans and completes can be repeated). A
4xx is never retried, except a 401 once after the token provider refreshed the token. Closing the
client ends a backoff wait at once.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from lamefair_desktop.catalog.retry import Cancelled, RetryLater, RetryNow, RetryPolicy
from lamefair_desktop.catalog.tls import UntrustedCertificate, http_client

RETRY_STATUSES = {502, 503, 504}
NETWORK_ERRORS = (httpx.TransportError,)


class CatalogError(Exception):
    """The catalog refused or failed a request; `str()` is a message for people, ending with the
    server's request id when it gave one ("(request id …)"), so support can find the server's log
    line. `detail` is the server's message alone (shown under a form field)."""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        field: str | None = None,
        existing_id: str | None = None,
        body: dict | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{detail} (request id {request_id})" if request_id else detail)
        self.detail = detail
        self.request_id = request_id
        self.status = status
        self.field = field
        self.existing_id = existing_id
        self.body = body or {}


class CatalogUnreachable(CatalogError):
    """No answer after the retries: the network or the server is down. Safe to try later."""


class SignInRequired(CatalogError):
    """The server wants a (new) sign-in; queued work waits for it."""


@dataclass
class TokenSource:
    """Where the bearer token comes from: a fixed token, or a provider that can refresh."""

    get: Callable[[], str | None]
    refresh: Callable[[], bool] | None = None

    @classmethod
    def fixed(cls, token: str | None) -> TokenSource:
        return cls(get=lambda: token)


class CatalogClient:
    def __init__(
        self,
        base_url: str,
        token: TokenSource | str | None = None,
        *,
        timeout: float = 30.0,
        attempts: int = 6,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        ca_bundle: str | None = None,
        transport: httpx.BaseTransport | None = None,
        catalog_id: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # The catalog's own id once known (identity.identify); see `catalog_key`.
        self.catalog_id = catalog_id
        self.token = token if isinstance(token, TokenSource) else TokenSource.fixed(token)
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.ca_bundle = ca_bundle  # the S3 clients of the transfers trust what this one trusts
        self._closed = threading.Event()  # ends a backoff wait at once
        timeout_ = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        if transport is not None:
            self.http = httpx.Client(base_url=self.base_url, timeout=timeout_, transport=transport)
        else:
            self.http = http_client(ca_bundle, base_url=self.base_url, timeout=timeout_)

    @property
    def catalog_key(self) -> str:
        """What this catalog's rows in the local database are filed under: its id, which
        survives a new port or host name; the URL only while the id is unknown."""
        return self.catalog_id or self.base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.attempts, self.backoff, self.max_backoff)

    def close(self) -> None:
        self._closed.set()
        self.http.close()

    def __enter__(self) -> CatalogClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the request loop ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict | None = None,
        raw: bool = False,
    ) -> Any:
        """The answer's JSON (None when empty); with `raw`, the response itself (a redirect's
        Location: the client never follows redirects, so no token reaches S3)."""
        refreshed = False

        def once() -> Any:
            nonlocal refreshed
            token = self.token.get()
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            try:
                response = self.http.request(
                    method, path, json=json, params=params, headers=headers
                )
            except UntrustedCertificate as exc:
                # Not retried: no amount of waiting makes the certificate trusted.
                raise CatalogUnreachable(f"Cannot reach the catalog safely: {exc}") from exc
            except NETWORK_ERRORS as exc:
                raise RetryLater("network", exc) from exc
            if response.status_code in RETRY_STATUSES:
                raise RetryLater("server", _error_from(response))
            if response.status_code == 401:
                if not refreshed and self.token.refresh is not None and self.token.refresh():
                    refreshed = True
                    raise RetryNow("token refreshed")
                raise SignInRequired(
                    _detail(response) or "Sign in to the catalog again.",
                    status=401,
                    request_id=_request_id(response),
                )
            if response.status_code >= 400:
                raise _error_from(response)
            if raw:
                return response
            if response.status_code == 204 or not response.content:
                return None
            return response.json()

        try:
            return self.retry_policy.run(once, cancel=self._closed)
        except Cancelled:
            raise CatalogUnreachable("The connection to the catalog was closed.") from None
        except RetryNow as exc:
            raise self._unreachable(exc.cause) from None

    def _unreachable(self, last_error: object) -> CatalogUnreachable:
        if isinstance(last_error, CatalogError):
            return CatalogUnreachable(
                f"The catalog at {self.base_url} is not answering ({last_error.detail}); "
                "your work is kept and will be sent when it is back.",
                status=last_error.status,
                request_id=last_error.request_id,
            )
        return CatalogUnreachable(
            f"Cannot reach the catalog at {self.base_url} "
            f"({last_error.__class__.__name__ if last_error else 'no answer'}); "
            "check the network. Your work is kept and will be sent when it is back."
        )

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    # --- service ------------------------------------------------------------------------------

    def health(self) -> dict:
        return self.get("/api/health")

    def me(self) -> dict:
        return self.get("/api/me")

    def changes(self, since: int, limit: int = 1000) -> dict:
        return self.get("/api/changes", since=since, limit=limit)

    # --- hierarchy ----------------------------------------------------------------------------

    def create(self, kind: str, body: dict) -> dict:
        """Create an entity; a client id is added when missing so retries stay idempotent."""
        return self.post(f"/api/{kind}", {"id": str(uuid.uuid4()), **body})

    def get_entity(self, kind: str, entity_id: str) -> dict:
        return self.get(f"/api/{kind}/{entity_id}")

    def list(self, kind: str, **parent: str) -> list[dict]:
        return self.get(f"/api/{kind}", **parent)

    # --- measurements and transfers -----------------------------------------------------------

    def create_measurement(self, body: dict) -> dict:
        return self.post("/api/measurements", {"id": str(uuid.uuid4()), **body})

    def get_file(self, file_id: str) -> dict:
        return self.get(f"/api/files/{file_id}")

    def upload_plan(self, file_id: str, sha256: str | None = None) -> dict:
        """A single PUT signs the file's SHA-256: give it when the file was registered without."""
        return self.post(f"/api/files/{file_id}/upload", {"sha256": sha256} if sha256 else None)

    def upload_plans(
        self, measurement_id: str, file_ids: list[str], sha256: dict[str, str] | None = None
    ) -> dict:
        """`{"plans": [{"file", "plan"}], "errors": [{"file", "detail", "state"}]}`; `sha256`
        by file id for files registered without one (what their single PUTs sign)."""
        body: dict = {"files": file_ids}
        if sha256:
            body["sha256"] = sha256
        return self.post(f"/api/measurements/{measurement_id}/uploads", body)

    def complete_uploads(self, measurement_id: str, files: list[tuple[str, str | None]]) -> dict:
        """Complete single-PUT files, (id, SHA-256) each, at once: `{"files", "errors"}`."""
        body = {
            "files": [
                {"id": file_id, "parts": [], **({"sha256": sha} if sha else {})}
                for file_id, sha in files
            ]
        }
        return self.post(f"/api/measurements/{measurement_id}/complete", body)

    def presign_parts(self, file_id: str, parts: list[tuple[int, str]]) -> list[dict]:
        body = {"parts": [{"number": n, "sha256": sha} for n, sha in parts]}
        return self.post(f"/api/files/{file_id}/parts", body)["parts"]

    def complete_upload(
        self, file_id: str, parts: list[tuple[int, str, str]], sha256: str | None = None
    ) -> dict:
        """`sha256`: the whole file's, hashed while sending (required when registered without)."""
        body: dict = {"parts": [{"number": n, "etag": e, "sha256": s} for n, e, s in parts]}
        if sha256:
            body["sha256"] = sha256
        return self.post(f"/api/files/{file_id}/complete", body)

    def abort_upload(self, file_id: str) -> dict:
        return self.delete(f"/api/files/{file_id}/upload")

    def give_up_upload(self, file_id: str, reason: str) -> dict:
        """This client will not finish the file: the catalog aborts it and marks it failed."""
        return self.post(f"/api/files/{file_id}/give-up", {"reason": reason})

    def download_url(self, file_id: str) -> dict:
        return self.get(f"/api/files/{file_id}/download")

    def start_derived(
        self,
        file_id: str,
        size: int,
        sha256: str,
        valid: bool,
        report: str,
        acquisition: dict | None = None,
    ):
        """`acquisition`: the values the catalog indexes for search (nexus/acquisition_values)."""
        body = {"size": size, "sha256": sha256, "valid": valid, "report": report}
        if acquisition is not None:
            body["acquisition"] = acquisition
        return self.post(f"/api/files/{file_id}/derived", body)

    def complete_derived(self, derived_id: str) -> dict:
        return self.post(f"/api/derived/{derived_id}/complete")

    # --- thumbnails (lamefair_desktop/catalog/thumbnails.py) ----------------------------------

    def start_thumbnail(self, derived_id: str, size: int, sha256: str) -> dict:
        return self.post(f"/api/derived/{derived_id}/thumbnail", {"size": size, "sha256": sha256})

    def complete_thumbnail(self, derived_id: str) -> dict:
        return self.post(f"/api/derived/{derived_id}/thumbnail/complete")

    def thumbnail_url(self, derived_id: str) -> str:
        """A short-lived GET of the derived file's thumbnail (NotFound when it has none)."""
        response = self.request("GET", f"/api/derived/{derived_id}/thumbnail", raw=True)
        if response.status_code != 307 or "location" not in response.headers:
            raise CatalogError(
                f"The catalog answered {response.status_code} for a thumbnail, not a redirect; "
                "it may be older than thumbnails.",
                status=response.status_code,
            )
        return response.headers["location"]

    def missing_thumbnails(self, proposal: str | None = None, limit: int = 1000) -> list[dict]:
        return self.get("/api/thumbnails/missing", proposal=proposal, limit=limit)

    # --- buckets ------------------------------------------------------------------------------

    def buckets(self) -> list[dict]:
        return self.get("/api/buckets")

    def list_objects(
        self, bucket: str, prefix: str = "", cursor: str | None = None, limit: int = 1000
    ) -> dict:
        return self.get(f"/api/buckets/{bucket}/objects", prefix=prefix, cursor=cursor, limit=limit)

    def presign_keys(self, bucket: str, keys: list[str]) -> list[dict]:
        """`[{"key", "url", "expires_at", "expires_in"}]`: `expires_in` is the server's
        LAMEFAIR_PRESIGN_TTL in seconds (missing from catalogs older than share links)."""
        return self.post(f"/api/buckets/{bucket}/presign", {"keys": keys})["urls"]

    # --- search -------------------------------------------------------------------------------

    def search(self, filters: dict[str, Any] | None = None) -> dict:
        """`GET /api/search`: `{"total", "offset", "limit", "hits", "facets"}`. `filters` names
        the API's parameters; a list or tuple value repeats its parameter (`instrument`,
        `element`...); ranges are text (`"180e3..210e3"`); None and "" are left out."""
        params: list[tuple[str, str]] = []
        for name, value in (filters or {}).items():
            for one in value if isinstance(value, list | tuple) else [value]:
                if one is None or one == "":
                    continue
                params.append((name, str(one).lower() if isinstance(one, bool) else str(one)))
        return self.request("GET", "/api/search", params=params)

    # --- share links --------------------------------------------------------------------------

    def create_share(self, target: dict, expires_in: int, note: str = "") -> dict:
        """A revocable link anyone may open without an account. `target`: `{"bucket", "key"}`
        (a folder's key ends in "/"), `{"file": id}`, `{"measurement": id}` or
        `{"experiment": id}`. The answer's `url` is shown only now: the catalog keeps a hash."""
        return self.post("/api/shares", {**target, "expires_in": expires_in, "note": note})

    def shares(self, proposal_id: str) -> list[dict]:
        """The proposal's share links, newest first, with their state and number of uses."""
        return self.get(f"/api/proposals/{proposal_id}/shares")

    def revoke_share(self, share_id: str) -> dict:
        return self.post(f"/api/shares/{share_id}/revoke")

    def share_uses(self, share_id: str) -> list[dict]:
        return self.get(f"/api/shares/{share_id}/uses")


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail", "")) if isinstance(body, dict) else ""


def _error_from(response: httpx.Response) -> CatalogError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return CatalogError(
        str(body.get("detail") or f"The catalog answered {response.status_code}."),
        status=response.status_code,
        field=body.get("field"),
        existing_id=body.get("existing_id"),
        body=body,
        request_id=_request_id(response),
    )


def _request_id(response: httpx.Response) -> str | None:
    """The server's id of this request (lamefair_catalog/web/observe.py), if it sent one."""
    return response.headers.get("x-request-id") or None
