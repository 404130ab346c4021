"""Domain errors with the HTTP status each becomes. Messages are for people: what and what to do.

`extra` goes into the JSON error body next to `detail` (the field at fault, an existing id).
"""

from __future__ import annotations


class CatalogError(Exception):
    status = 400

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(CatalogError):
    status = 404


class Forbidden(CatalogError):
    status = 403


class Conflict(CatalogError):
    status = 409


class Invalid(CatalogError):
    status = 422
