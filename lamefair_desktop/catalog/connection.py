"""Which catalog to talk to and with which token (CLI and GUI alike).

`LAMEFAIR_SERVER` / `LAMEFAIR_TOKEN`, else the settings' server URL with the session kept in the
keyring for it (see auth.py), else the embedded local catalog of this user (started when it is not
running).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from lamefair_desktop.catalog import local_server
from lamefair_desktop.catalog.client import CatalogClient, TokenSource
from lamefair_desktop.catalog.tls import CaBundleError, http_client
from lamefair_desktop.home.settings import Settings

if TYPE_CHECKING:  # sign-in (authlib, joserfc, keyring) is imported only by who signs in:
    # a script with LAMEFAIR_TOKEN, or the local catalog, starts ~0.3 s sooner without them.
    from lamefair_desktop.catalog.auth import OidcSession


@dataclass
class Connection:
    client: CatalogClient
    description: str
    local: local_server.LocalServer | None = None
    session: OidcSession | None = None

    def close(self) -> None:
        self.client.close()
        if self.local is not None:
            local_server.stop(self.local)


def _attempts() -> int:
    """`LAMEFAIR_HTTP_ATTEMPTS` lets scripts give up sooner on a dead network (default 6)."""
    try:
        return max(1, int(os.environ.get("LAMEFAIR_HTTP_ATTEMPTS", "6")))
    except ValueError:
        return 6


def server_url(settings: Settings | None = None) -> str | None:
    settings = settings or Settings.load()
    url = os.environ.get("LAMEFAIR_SERVER") or settings.server_url
    return url.rstrip("/") if url else None


def oidc_session(url: str, settings: Settings | None = None) -> OidcSession:
    """The sign-in session for a catalog, with the client secret some providers insist on."""
    from lamefair_desktop.catalog.auth import AuthConfig, AuthError, OidcSession, TokenStore

    settings = settings or Settings.load()
    # Discovery, token, JWKS and revocation requests trust the lab's CA like the catalog client.
    try:
        with http_client(settings.ca_bundle, timeout=20) as http:
            config = AuthConfig.fetch(url, http)
        if settings.oidc_client_secret:
            config = replace(config, client_secret=settings.oidc_client_secret)
        return OidcSession(url, config, TokenStore(url), ca_bundle=settings.ca_bundle)
    except CaBundleError as exc:
        raise AuthError(str(exc)) from exc


def connect(
    settings: Settings | None = None, sessions: sessionmaker[Session] | None = None
) -> Connection:
    """Connect, and learn which catalog answers (its id keys every queued row; `sessions` is
    the local database, the default one when not given)."""
    from lamefair_desktop.catalog.identity import identify
    from lamefair_desktop.home.local_db import open_local_db

    settings = settings or Settings.load()
    connection = _connect(settings)
    try:
        identify(connection.client, sessions or open_local_db())
    except BaseException:
        connection.close()  # stops the local catalog if we started it
        raise
    return connection


def _connect(settings: Settings) -> Connection:
    url = server_url(settings)
    if url:
        session = None
        fixed = os.environ.get("LAMEFAIR_TOKEN")
        if fixed:
            token: TokenSource | str = fixed
        else:
            from lamefair_desktop.catalog.auth import AuthError

            try:
                session = oidc_session(url, settings)
                token = session.token_source()
            except AuthError:
                token = TokenSource.fixed(None)  # the first request then asks for a sign-in
        client = CatalogClient(url, token, ca_bundle=settings.ca_bundle, attempts=_attempts())
        return Connection(client, f"catalog at {client.base_url}", session=session)
    server = local_server.start()
    client = CatalogClient(server.url, server.token, attempts=_attempts())
    return Connection(client, f"local catalog at {server.url}", server)
