"""Which catalog to talk to and with which token (CLI and GUI alike).

`LAMEFAIR_SERVER` / `LAMEFAIR_TOKEN`, else the settings' server URL with the token kept in the
keyring for it, else the embedded local catalog of this user (started when it is not running).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import keyring
from keyring.errors import KeyringError

from lamefair_desktop import local_server
from lamefair_desktop.catalog_client import CatalogClient
from lamefair_desktop.settings import Settings

KEYRING_SERVICE = "lamefair"


@dataclass
class Connection:
    client: CatalogClient
    description: str
    local: local_server.LocalServer | None = None

    def close(self) -> None:
        self.client.close()
        if self.local is not None:
            local_server.stop(self.local)


def stored_token(server_url: str) -> str | None:
    try:
        return keyring.get_password(KEYRING_SERVICE, server_url)
    except KeyringError:
        return None


def _attempts() -> int:
    """`LAMEFAIR_HTTP_ATTEMPTS` lets scripts give up sooner on a dead network (default 6)."""
    try:
        return max(1, int(os.environ.get("LAMEFAIR_HTTP_ATTEMPTS", "6")))
    except ValueError:
        return 6


def connect(settings: Settings | None = None) -> Connection:
    settings = settings or Settings.load()
    url = os.environ.get("LAMEFAIR_SERVER") or settings.server_url
    if url:
        token = os.environ.get("LAMEFAIR_TOKEN") or stored_token(url.rstrip("/"))
        client = CatalogClient(url, token, verify=settings.ca_bundle or True, attempts=_attempts())
        return Connection(client, f"catalog at {client.base_url}")
    server = local_server.start()
    client = CatalogClient(server.url, server.token, attempts=_attempts())
    return Connection(client, f"local catalog at {server.url}", server)
