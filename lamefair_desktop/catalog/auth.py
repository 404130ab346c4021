"""Signing in to the catalog's identity provider (OIDC), without Qt.

- Authorization Code with PKCE for a native app (RFC 8252): the system browser opens the authorize
  page; a one-shot HTTP listener on 127.0.0.1 and a random port receives the code; `state` and
  `nonce` are checked and the ID token is validated against the provider's JWKS.
- Device Authorization Grant for headless use, where the provider offers it.
- The OAuth requests (authorization URL with the PKCE challenge, code, refresh and device-code
  grants, client authentication, revocation) are authlib's `OAuth2Client` for httpx, made by
  `tls.http_client` so it trusts the lab's CA, names an untrusted certificate and honours proxies.
  authlib has no client side for the device authorization request nor a loopback listener: those
  two are here. The ID token is checked with joserfc (authlib's own `jose` is deprecated for it).
- Only the refresh token (and the username) goes to the keyring, under the server's URL; access
  and ID tokens stay in memory (see token_store). Where no keyring backend exists, or it fails,
  the session is kept in memory and the user is told so; never a plaintext file.
- Access tokens are refreshed shortly before they expire and after a 401; a failed refresh means
  "sign in again", and queued uploads wait for it (see transfer.upload).
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import OAuthError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from lamefair_desktop.catalog.client import TokenSource
from lamefair_desktop.catalog.tls import UntrustedCertificate, http_client
from lamefair_desktop.catalog.token_store import (  # TokenStore: callers import it here
    Tokens,
    TokenStore,
)

with warnings.catch_warnings():
    # authlib's httpx integration now prefers the httpx2 package and warns at import about httpx,
    # which every client of the desktop uses (tls.py); with httpx it works as before.
    warnings.filterwarnings("ignore", "The httpx module", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628
REFRESH_MARGIN = 60.0  # seconds before expiry at which the access token is renewed
CLOCK_SKEW = 60


class AuthError(Exception):
    """Signing in failed; the message says why and what to do."""


class ProviderRefused(AuthError):
    """The provider answered with an OAuth error (`code`: invalid_grant, authorization_pending...)."""

    def __init__(self, code: str, description: str | None) -> None:
        super().__init__(f"The identity provider refused: {description or code}.")
        self.code = code


@dataclass(frozen=True)
class AuthConfig:
    """What the catalog tells clients about signing in (`GET /api/auth-config`)."""

    mode: str
    issuer: str | None
    client_id: str | None
    scopes: str
    audience: str | None = None
    client_secret: str | None = None  # for providers that insist on confidential clients

    @classmethod
    def fetch(cls, server_url: str, http: httpx.Client | None = None) -> AuthConfig:
        client = http or http_client(None, timeout=10)
        try:
            raw = client.get(f"{server_url.rstrip('/')}/api/auth-config").json()
        except (httpx.HTTPError, ValueError) as exc:
            raise AuthError(f"Cannot read the sign-in settings of {server_url}: {exc}") from exc
        finally:
            if http is None:
                client.close()
        return cls(
            mode=raw["mode"],
            issuer=raw.get("issuer"),
            client_id=raw.get("client_id"),
            scopes=raw.get("scopes") or "openid profile email",
            audience=raw.get("audience"),
        )


class _Callback(BaseHTTPRequestHandler):
    """Receives the provider's redirect once, then tells the person to go back to lamefair."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        query = parse_qs(urlparse(self.path).query)
        self.server.result = {k: v[0] for k, v in query.items()}  # type: ignore[attr-defined]
        body = (
            "<html><body><h3>lamefair: signed in.</h3>You can close this window.</body></html>"
            if "code" in query
            else "<html><body><h3>lamefair: sign-in failed.</h3>Go back to lamefair.</body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.done.set()  # type: ignore[attr-defined]

    def log_message(self, *args) -> None:
        pass


class OidcSession:
    def __init__(
        self,
        server_url: str,
        config: AuthConfig,
        store: TokenStore | None = None,
        *,
        refresh_margin: float = REFRESH_MARGIN,
        ca_bundle: str | None = None,
    ) -> None:
        if config.mode != "oidc" or not config.issuer or not config.client_id:
            raise AuthError("This catalog does not use an identity provider (local mode).")
        self.server_url = server_url.rstrip("/")
        self.config = config
        self.store = store or TokenStore(server_url)
        self.refresh_margin = refresh_margin
        # A public client unless the settings give a secret (then client_secret_basic). No
        # `scope=` here: authlib would add it to refresh requests, which never sent one.
        self.oauth = http_client(
            ca_bundle,
            OAuth2Client,
            client_id=config.client_id,
            client_secret=config.client_secret,
            code_challenge_method="S256",
            timeout=20,
        )
        self._discovery: dict | None = None
        self._lock = threading.Lock()

    # --- provider metadata --------------------------------------------------------------------

    def discovery(self) -> dict:
        if self._discovery is None:
            url = f"{self.config.issuer.rstrip('/')}/.well-known/openid-configuration"
            try:
                response = self.oauth.request("GET", url, withhold_token=True)
                response.raise_for_status()
                self._discovery = response.json()
            except UntrustedCertificate as exc:
                raise AuthError(str(exc)) from exc
            except (httpx.HTTPError, ValueError) as exc:
                raise AuthError(
                    f"The identity provider at {self.config.issuer} does not answer."
                ) from exc
        return self._discovery

    def _ask(self, request: Callable[..., dict], *args, **kwargs) -> dict:
        """Run one of authlib's token requests; its failures become an AuthError."""
        try:
            return request(*args, **kwargs)
        except UntrustedCertificate as exc:
            raise AuthError(str(exc)) from exc
        except OAuthError as exc:
            raise ProviderRefused(exc.error, exc.description) from exc
        except (httpx.HTTPError, ValueError) as exc:  # down, 5xx, or not an OAuth answer
            raise AuthError("The identity provider cannot be reached; try again.") from exc

    def _store(self, answer: dict, nonce: str | None) -> Tokens:
        claims = self._check_id_token(answer["id_token"], nonce) if answer.get("id_token") else {}
        previous = self.store.load()
        tokens = Tokens(
            access_token=answer["access_token"],
            expires_at=time.time() + float(answer.get("expires_in", 300)),
            refresh_token=answer.get("refresh_token")
            or (previous.refresh_token if previous else None),
            id_token=answer.get("id_token") or (previous.id_token if previous else None),
            username=str(claims.get("preferred_username") or claims.get("sub") or "")
            or (previous.username if previous else ""),
        )
        self.store.save(tokens)
        return tokens

    def _check_id_token(self, id_token: str, nonce: str | None) -> dict:
        try:
            jwks_uri = self.discovery()["jwks_uri"]
            jwks = self.oauth.request("GET", jwks_uri, withhold_token=True).json()
            decoded = jwt.decode(
                id_token, KeySet.import_key_set(jwks), algorithms=["RS256", "PS256", "ES256"]
            )
            expected = {
                "iss": {"essential": True, "value": self.config.issuer.rstrip("/")},
                "aud": {"essential": True, "value": self.config.client_id},
                "exp": {"essential": True},
            }
            if nonce is not None:
                expected["nonce"] = {"essential": True, "value": nonce}
            jwt.JWTClaimsRegistry(leeway=CLOCK_SKEW, **expected).validate(decoded.claims)
        except (JoseError, ValueError, httpx.HTTPError) as exc:
            raise AuthError(f"The identity provider's ID token is not valid ({exc}).") from exc
        return decoded.claims

    # --- signing in ---------------------------------------------------------------------------

    def login(self, open_browser: Callable[[str], object], timeout: float = 300) -> Tokens:
        """Authorization Code + PKCE through the system browser and a loopback redirect."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
        server.done = threading.Event()  # type: ignore[attr-defined]
        server.result = {}  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
            verifier, nonce = generate_token(64), generate_token(24)
            url, state = self.oauth.create_authorization_url(
                self.discovery()["authorization_endpoint"],
                redirect_uri=redirect_uri,
                scope=self.config.scopes,
                code_verifier=verifier,  # authlib sends its S256 challenge
                nonce=nonce,
            )
            open_browser(url)
            if not server.done.wait(timeout):  # type: ignore[attr-defined]
                raise AuthError("No answer from the browser; sign in again.")
            result = server.result  # type: ignore[attr-defined]
        finally:
            server.shutdown()
            server.server_close()
        if result.get("state") != state:
            raise AuthError("The sign-in answer does not belong to this request (state); retry.")
        if "code" not in result:
            raise AuthError(f"Sign-in was refused: {result.get('error', 'no code returned')}.")
        answer = self._ask(
            self.oauth.fetch_token,
            self.discovery()["token_endpoint"],
            grant_type="authorization_code",
            code=result["code"],
            redirect_uri=redirect_uri,
            code_verifier=verifier,
        )
        return self._store(answer, nonce)

    def login_device(self, show: Callable[[str, str], object], timeout: float = 600) -> Tokens:
        """Device Authorization Grant: show(url, code), then poll until the user approved."""
        endpoint = self.discovery().get("device_authorization_endpoint")
        if not endpoint:
            raise AuthError(
                "This identity provider offers no device sign-in; run `lamefair login` on a "
                "machine with a browser, or ask for the device grant to be enabled."
            )
        try:
            start = self.oauth.request(
                "POST",
                endpoint,
                data={"client_id": self.config.client_id, "scope": self.config.scopes},
                withhold_token=True,
            ).json()
        except UntrustedCertificate as exc:
            raise AuthError(str(exc)) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise AuthError("The identity provider cannot be reached; try again.") from exc
        show(
            start.get("verification_uri_complete") or start["verification_uri"], start["user_code"]
        )
        interval = float(start.get("interval", 5))
        deadline = time.monotonic() + min(timeout, float(start.get("expires_in", timeout)))
        while time.monotonic() < deadline:
            time.sleep(interval)
            try:
                answer = self._ask(
                    self.oauth.fetch_token,
                    self.discovery()["token_endpoint"],
                    grant_type=DEVICE_CODE_GRANT,
                    device_code=start["device_code"],
                )
            except ProviderRefused as exc:
                if exc.code == "authorization_pending":
                    continue
                if exc.code == "slow_down":
                    interval += 5
                    continue
                raise
            return self._store(answer, None)
        raise AuthError("The device sign-in was not approved in time; start it again.")

    # --- using and renewing -------------------------------------------------------------------

    def access_token(self) -> str | None:
        """A current access token, renewed when it is about to expire; None: sign in again."""
        with self._lock:
            tokens = self.store.load()
            if tokens is None:
                return None
            if tokens.expires_at - time.time() > self.refresh_margin:
                return tokens.access_token
        return self.access_token_after_refresh()

    def access_token_after_refresh(self) -> str | None:
        tokens = self.store.load() if self.refresh() else None
        return tokens.access_token if tokens else None

    def refresh(self) -> bool:
        with self._lock:
            tokens = self.store.load()
            for _ in range(2):
                if tokens is None or not tokens.refresh_token:
                    return False
                try:
                    answer = self._ask(
                        self.oauth.refresh_token,
                        self.discovery()["token_endpoint"],
                        refresh_token=tokens.refresh_token,
                    )
                except ProviderRefused:
                    now = self.store.load()
                    if now is not None and now.refresh_token != tokens.refresh_token:
                        # The window and its engines' process share the refresh token: the other
                        # one renewed first (a provider that rotates refresh tokens refuses the
                        # old one). Renew again with the one it stored.
                        tokens = now
                        continue
                    # Keep nothing that no longer works: the next call asks for a new sign-in.
                    self.store.clear()
                    return False
                except AuthError:
                    # Unreachable or untrusted provider: the refresh token may still be good, so
                    # a network blip must not sign the operator out. Try again on the next call.
                    return False
                self._store(answer, None)
                return True
            return False

    def token_source(self) -> TokenSource:
        return TokenSource(get=self.access_token, refresh=self.refresh)

    def logout(self) -> None:
        """Revoke the refresh token where the provider supports it, then forget everything."""
        tokens = self.store.load()
        # Offline (the provider or its discovery document out of reach): the local copy is
        # removed all the same; signing out never fails for want of a network.
        with contextlib.suppress(httpx.HTTPError, AuthError):
            endpoint = self.discovery().get("revocation_endpoint") if tokens else None
            if tokens and tokens.refresh_token and endpoint:
                self.oauth.revoke_token(
                    endpoint, token=tokens.refresh_token, token_type_hint="refresh_token"
                )
        self.store.clear()

    def close(self) -> None:
        self.oauth.close()
