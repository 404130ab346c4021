"""A strict authorization server on loopback, built on authlib: PKCE required, one public client.

oidc-provider-mock accepts any code_verifier and any client secret, so a desktop that sent a wrong
verifier, or none, would still pass the tests that use it. This server refuses a token request
whose verifier is wrong or missing (`CodeChallenge(required=True)`), knows the client
`lamefair-desktop` only as a public client (`token_endpoint_auth_method="none"`: no secret), and
accepts loopback redirects on any port (RFC 8252). It also publishes OIDC discovery and a JWKS and
issues an ID token with the request's nonce, because the desktop checks both. Access tokens are
opaque; there is no userinfo endpoint, refresh or consent page: the test plays the person by
posting `sub` to the authorize URL, as tests/support/fake_browser.py does. The device grant
(RFC 8628) is there too: `approve(user_code, sub)` plays the person on their phone.

Flask and werkzeug come with oidc-provider-mock (test extra); authlib is a dependency of lamefair.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlparse

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

CLIENT_ID = "lamefair-desktop"


@dataclass(frozen=True)
class User:
    sub: str


class PublicClient:
    """The desktop: no secret, PKCE, loopback redirects only."""

    def get_client_id(self) -> str:
        return CLIENT_ID

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in {"openid", "profile", "email"})

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        url = urlparse(redirect_uri)
        return url.scheme == "http" and url.hostname == "127.0.0.1" and url.path == "/callback"

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # a public client has none

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", DEVICE_CODE_GRANT_TYPE)


@dataclass
class Code:
    code: str
    user: User
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class PkceServer:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "pkce-1"})
        self.codes: dict[str, Code] = {}
        self.devices: dict[str, DeviceCredentialDict] = {}  # by device code
        self.approved: dict[str, User] = {}  # by user code
        self.device_polls = 0
        self.client = PublicClient()
        app = Flask(__name__)
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 300}
        self.authorization = AuthorizationServer(
            app, query_client=self._query_client, save_token=lambda token, req: None
        )
        self.authorization.register_grant(
            _code_grant(self), [CodeChallenge(required=True), _openid_code(self)]
        )
        self.authorization.register_grant(_device_grant(self))
        self.authorization.register_endpoint(_device_endpoint(self))
        self._routes(app)
        self._http = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._http.server_port}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def _query_client(self, client_id: str) -> PublicClient | None:
        return self.client if client_id == CLIENT_ID else None

    def _routes(self, app: Flask) -> None:
        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(
                issuer=self.url,
                authorization_endpoint=f"{self.url}/authorize",
                token_endpoint=f"{self.url}/token",
                device_authorization_endpoint=f"{self.url}/device_authorization",
                jwks_uri=f"{self.url}/jwks",
                response_types_supported=["code"],
                code_challenge_methods_supported=["S256"],
                token_endpoint_auth_methods_supported=["none"],
                id_token_signing_alg_values_supported=["RS256"],
            )

        @app.get("/jwks")
        def jwks():
            return jsonify(KeySet([self.key]).as_dict(private=False))

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():
            sub = request.form.get("sub")
            if not sub:
                return "Post the subject to sign in as (sub).", 400
            user = User(sub)
            try:
                grant = self.authorization.get_consent_grant(end_user=user)
            except OAuth2Error as error:
                return self.authorization.handle_error_response(None, error)
            return self.authorization.create_authorization_response(grant_user=user, grant=grant)

        @app.post("/token")
        def token():
            return self.authorization.create_token_response()

        @app.post("/device_authorization")
        def device_authorization():
            return self.authorization.create_endpoint_response("device_authorization")

    def approve(self, user_code: str, sub: str) -> None:
        self.approved[user_code] = User(sub)

    def close(self) -> None:
        self._http.shutdown()
        self._thread.join(5)


def _code_grant(server: PkceServer) -> type[grants.AuthorizationCodeGrant]:
    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["none"]  # noqa: RUF012 - authlib's class attribute

        def save_authorization_code(self, code: str, req) -> None:
            data = req.payload.data
            server.codes[code] = Code(
                code=code,
                user=req.user,
                redirect_uri=req.payload.redirect_uri,
                scope=req.payload.scope,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=int(time.time()),
            )

        def query_authorization_code(self, code: str, client) -> Code | None:
            return server.codes.get(code)

        def delete_authorization_code(self, authorization_code: Code) -> None:
            server.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: Code) -> User:
            return authorization_code.user

    return CodeGrant


def _device_endpoint(server: PkceServer) -> DeviceAuthorizationEndpoint:
    class Endpoint(DeviceAuthorizationEndpoint):
        INTERVAL = 1  # seconds between polls the desktop is asked to keep

        def get_verification_uri(self) -> str:
            return f"{server.url}/device"

        def save_device_credential(self, client_id: str, scope: str, data: dict) -> None:
            server.devices[data["device_code"]] = DeviceCredentialDict(
                client_id=client_id, scope=scope, **data
            )

    return Endpoint(server.authorization)


def _device_grant(server: PkceServer) -> type[DeviceCodeGrant]:
    class Grant(DeviceCodeGrant):
        def query_device_credential(self, device_code: str) -> DeviceCredentialDict | None:
            server.device_polls += 1
            return server.devices.get(device_code)

        def query_user_grant(self, user_code: str) -> tuple[User, bool] | None:
            user = server.approved.get(user_code)
            return (user, True) if user else None

        def should_slow_down(self, credential) -> bool:
            return False

    return Grant


def _openid_code(server: PkceServer) -> OpenIDCode:
    class IdToken(OpenIDCode):
        def resolve_client_private_key(self, client):
            return server.key

        def get_client_algorithm(self, client) -> str:
            return "RS256"

        def get_encode_header(self, client) -> dict:
            return {"alg": "RS256", "kid": server.key.kid}

        def get_client_claims(self, client) -> dict:
            return {"iss": server.url, "aud": CLIENT_ID, "exp": int(time.time()) + 300}

        def exists_nonce(self, nonce: str, req) -> bool:
            return any(code.nonce == nonce for code in server.codes.values())

        def generate_user_info(self, user: User, scope: str) -> dict:
            return {"sub": user.sub, "preferred_username": user.sub}

    return IdToken(require_nonce=True)


def new_verifier() -> str:
    return secrets.token_urlsafe(48)
