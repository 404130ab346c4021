"""Bring the local upload queue and the catalog into agreement; the catalog is the truth.

A client that gives up a file whose source changed or was deleted tells the catalog, which aborts
the multipart upload and marks the file failed with the reason: otherwise the catalog said
`uploading` for ever and S3 kept the parts.
"""

from __future__ import annotations

from lamefair_desktop.catalog_client import CatalogClient, CatalogError, CatalogUnreachable


def give_up(client: CatalogClient, file_id: str, reason: str) -> bool:
    """Tell the catalog we will not finish this file; False when it could not be told now
    (`reconcile` tells it later). A file the catalog already stored stays stored."""
    try:
        client.give_up_upload(file_id, reason)
    except CatalogUnreachable:
        return False
    except CatalogError as exc:
        return exc.status in (404, 409)  # gone or stored: nothing is left uploading
    return True
