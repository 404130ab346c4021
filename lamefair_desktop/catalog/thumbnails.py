"""Thumbnails through the catalog (no Qt): send a rendered PNG beside its NXem, fetch one back.

Sent like the NXem itself: the catalog signs a PUT with the PNG's SHA-256 (S3 refuses any other
bytes), then checks the object. Fetched through the catalog's 307 to a short-lived GET, which is
followed here without the bearer token (it must never reach S3).
"""

from __future__ import annotations

import hashlib

import httpx

from lamefair_desktop.catalog.client import CatalogClient, CatalogError, CatalogUnreachable


def upload_thumbnail(client: CatalogClient, s3: httpx.Client, derived_id: str, png: bytes) -> dict:
    """Store `png` as the derived file's thumbnail; returns the derived record (thumbnail: true)."""
    plan = client.start_thumbnail(derived_id, len(png), hashlib.sha256(png).hexdigest())
    response = s3.put(plan["url"], content=png, headers=plan.get("headers") or {})
    if response.status_code >= 500:
        raise CatalogUnreachable(
            f"The mirror bucket answered {response.status_code} for {plan['key']}; try again later."
        )
    if response.status_code >= 300:
        raise CatalogError(f"The mirror bucket refused {plan['key']} ({response.status_code}).")
    return client.complete_thumbnail(derived_id)


def fetch_thumbnail(client: CatalogClient, s3: httpx.Client, derived_id: str) -> bytes | None:
    """The PNG bytes, or None when the derived file has no thumbnail (the catalog's 404)."""
    try:
        url = client.thumbnail_url(derived_id)
    except CatalogError as exc:
        if exc.status == 404:
            return None
        raise
    response = s3.get(url)
    if response.status_code == 404:
        return None
    if response.status_code >= 300:
        raise CatalogUnreachable(f"The mirror bucket answered {response.status_code}.")
    return response.content
