"""Who is calling: the embedded local token, OIDC JWT access tokens (JWKS), or opaque tokens (userinfo).

Authentik and Keycloak issue JWT access tokens: checked locally against the issuer's JWKS (signature
with an allow-list of algorithms, iss, aud, exp, nbf, small clock skew) on every request, keys
refetched when an unknown `kid` appears (key rotation), at most every few seconds. An ID token is
not an access token, even though it is a JWT signed by the same keys: see `id_token_reason`.
Providers that issue opaque tokens (the test provider does) are asked at their userinfo endpoint;
the answer is reused for `userinfo_cache_seconds` (60 s unless configured). The server cannot see
an opaque token's expiry, so that lifetime is also the longest an expired or revoked opaque token,
or a group the user was removed from, can still count.
The groups claim maps to roles (admin group, operator group, everyone else reads what lists them),
by whole names: see `domain/access.group_matches`.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
import threading
import time

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from lamefair_catalog.domain.access import Principal, group_matches
from lamefair_catalog.settings import Settings

ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
CLOCK_SKEW_SECONDS = 30
JWKS_MIN_REFRESH_SECONDS = 5
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}  # RFC 9068's `typ` header
ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash")  # OIDC defines these for ID tokens only


class Unauthenticated(Exception):
    """No valid credentials: 401. The message is safe to show and never echoes the token."""


def principal_from_claims(claims: dict, settings: Settings) -> Principal:
    username = str(claims.get("preferred_username") or claims.get("sub") or "")
    if not username:
        raise Unauthenticated("The token names no user (no sub claim).")
    raw_groups = claims.get("groups") or []
    if isinstance(raw_groups, str):
        raw_groups = [raw_groups]
    groups = frozenset(str(g) for g in raw_groups)
    return Principal(
        username=username,
        groups=groups,
        is_admin=any(group_matches(settings.admin_group, g) for g in groups),
        is_operator=any(group_matches(settings.operator_group, g) for g in groups),
    )


def id_token_reason(header: dict, claims: dict, settings: Settings) -> str | None:
    """Why a verified JWT is an ID token rather than an access token, or None if it may be used.

    An ID token tells the desktop who signed in; sent to the API it would let anything that ever
    saw it (a log, another app of the same provider) act as the user. RFC 9068 types access
    tokens `at+jwt`, but Keycloak and Authentik type theirs `JWT` like ID tokens, so in order:
    1. `typ` header `at+jwt` or `application/at+jwt`: an access token.
    2. Keycloak's own `typ` claim: "Bearer" is an access token, "ID" an ID token.
    3. `nonce`, `at_hash` or `c_hash` present: OIDC defines them for ID tokens only.
    4. `aud` names the desktop's client id while no API audience is configured: ID tokens are
       addressed to the client. Providers whose access tokens are addressed to the client too
       (Authentik) work when LAMEFAIR_OIDC_AUDIENCE is set to that client id; their ID tokens are
       then refused by rule 3 (they carry `at_hash`, and the `nonce` the desktop always sends).
    """
    if str(header.get("typ", "")).lower() in ACCESS_TOKEN_TYPES:
        return None
    kind = str(claims.get("typ", "")).lower()
    if kind == "bearer":
        return None
    if kind == "id":
        return "it is an ID token"
    if any(name in claims for name in ID_TOKEN_CLAIMS):
        return "it is an ID token (it carries nonce, at_hash or c_hash)"
    audiences = claims.get("aud") or []
    audiences = [audiences] if isinstance(audiences, str) else list(audiences)
    client_id = settings.oidc_client_id
    if client_id and client_id in audiences and not settings.oidc_audience:
        return "it is addressed to the desktop app (an ID token), not to this API"
    return None


class Authenticator:
    def __init__(self, settings: Settings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        ca = settings.oidc_ca_bundle  # a provider with a certificate from the lab's own CA
        verify = ssl.create_default_context(cafile=ca) if ca else True
        self._http = http or httpx.Client(timeout=10.0, verify=verify)
        self._lock = threading.Lock()
        self._discovery: dict | None = None
        self._keys: KeySet | None = None
        self._keys_fetched_at = 0.0
        self._userinfo_cache: dict[str, tuple[float, dict]] = {}

    # --- entry point --------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthenticated("Sign in first: send 'Authorization: Bearer <token>'.")
        token = authorization[7:].strip()
        if self.settings.local_token is not None:
            if hmac.compare_digest(token.encode(), self.settings.local_token.encode()):
                return Principal(self.settings.local_user, frozenset(), is_admin=True)
            raise Unauthenticated("The local access token is wrong; restart the app to get it.")
        if not self.settings.oidc_issuer:
            raise Unauthenticated("This server has no identity provider configured.")
        if token.count(".") == 2:
            return principal_from_claims(self._verify_jwt(token), self.settings)
        return principal_from_claims(self._userinfo(token), self.settings)

    # --- OIDC discovery and keys ---------------------------------------------------------------

    def discovery(self) -> dict:
        with self._lock:
            if self._discovery is None:
                url = f"{self.settings.oidc_issuer}/.well-known/openid-configuration"
                try:
                    response = self._http.get(url)
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    raise Unauthenticated(
                        "The identity provider cannot be reached; try again shortly."
                    ) from exc
                self._discovery = response.json()
            return self._discovery

    def _key_set(self, force: bool = False) -> KeySet:
        with self._lock:
            fresh_enough = time.monotonic() - self._keys_fetched_at < JWKS_MIN_REFRESH_SECONDS
            if self._keys is not None and (not force or fresh_enough):
                return self._keys
        jwks_uri = self.discovery()["jwks_uri"]
        try:
            response = self._http.get(jwks_uri)
            response.raise_for_status()
            keys = KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            raise Unauthenticated("The identity provider's signing keys are unavailable.") from exc
        with self._lock:
            self._keys, self._keys_fetched_at = keys, time.monotonic()
        return keys

    def _verify_jwt(self, token: str) -> dict:
        try:
            header = jws.extract_compact(token.encode()).protected
        except (JoseError, ValueError) as exc:
            raise Unauthenticated("The access token is malformed.") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise Unauthenticated("The access token's signature algorithm is not accepted.")
        keys = self._key_set()
        kid = header.get("kid")
        if kid and not any(key.kid == kid for key in keys.keys):
            keys = self._key_set(force=True)  # the provider rotated its keys
        try:
            decoded = jwt.decode(token, keys, algorithms=ALLOWED_ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise Unauthenticated("The access token's signature is invalid.") from exc
        expected = {
            "iss": {"essential": True, "value": self.settings.oidc_issuer},
            "exp": {"essential": True},
            "sub": {"essential": True},
        }
        if self.settings.oidc_audience:
            expected["aud"] = {"essential": True, "value": self.settings.oidc_audience}
        registry = jwt.JWTClaimsRegistry(leeway=CLOCK_SKEW_SECONDS, **expected)
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise Unauthenticated(f"The access token is not accepted: {exc.error}.") from exc
        reason = id_token_reason(header, decoded.claims, self.settings)
        if reason:
            raise Unauthenticated(f"This is not an access token: {reason}.")
        return decoded.claims

    def _userinfo(self, token: str) -> dict:
        cache_key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._userinfo_cache.get(cache_key)
            if cached and cached[0] > now:
                return cached[1]
        endpoint = self.discovery().get("userinfo_endpoint")
        if not endpoint:
            raise Unauthenticated("The identity provider offers no userinfo endpoint.")
        try:
            response = self._http.get(endpoint, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise Unauthenticated("The identity provider cannot be reached; try again.") from exc
        if response.status_code != 200:
            raise Unauthenticated("The access token is invalid or expired; sign in again.")
        claims = response.json()
        with self._lock:
            if len(self._userinfo_cache) > 10_000:
                self._userinfo_cache.clear()
            self._userinfo_cache[cache_key] = (now + self.settings.userinfo_cache_seconds, claims)
        return claims
