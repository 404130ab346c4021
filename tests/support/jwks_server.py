"""A minimal OIDC issuer for JWT access tokens: discovery and JWKS on loopback, keys we hold.

Authentik and Keycloak issue JWT access tokens; oidc-provider-mock issues opaque ones. This lets the
tests sign JWTs themselves (valid, expired, tampered, other audience...) and rotate keys.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


class JwksIssuer:
    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "key-1"})]
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path == "/.well-known/openid-configuration":
                    body = {
                        "issuer": issuer.url,
                        "jwks_uri": f"{issuer.url}/jwks",
                        "authorization_endpoint": f"{issuer.url}/authorize",
                        "token_endpoint": f"{issuer.url}/token",
                    }
                elif self.path == "/jwks":
                    body = KeySet(issuer.keys).as_dict(private=False)
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def rotate(self) -> None:
        """Publish a new signing key (the old one is withdrawn), as providers do on rotation."""
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": f"key-{len(self.keys) + 1}"})]

    def token(self, key: RSAKey | None = None, header_typ: str | None = None, **overrides) -> str:
        """A signed JWT with these claims changed (None removes one), `header_typ` its `typ`."""
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": "lamefair",
            "sub": "jwt-user",
            "preferred_username": "jwt-user",
            "groups": ["lame-operators"],
            "iat": now,
            "nbf": now - 5,
            "exp": now + 300,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = key or self.keys[-1]
        header = {"alg": "RS256", "kid": key.kid, **({"typ": header_typ} if header_typ else {})}
        return jwt.encode(header, claims, key)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
