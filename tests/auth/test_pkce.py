"""PKCE for real: a strict authlib server that refuses a wrong or missing code_verifier, and the
desktop's sign-in through the system browser (played by fake_browser.py) against it, as a public
client without a secret."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from lamefair_desktop.catalog.auth import AuthConfig, OidcSession, TokenStore
from tests.support.pkce_server import CLIENT_ID, PkceServer, new_verifier

REDIRECT = "http://127.0.0.1:1/callback"  # never reached: the test reads the code off the redirect
FAKE_BROWSER = Path(__file__).parents[1] / "support" / "fake_browser.py"


@pytest.fixture(scope="module")
def pkce_server():
    server = PkceServer()
    yield server
    server.close()


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _code(server: PkceServer, verifier: str) -> str:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "openid profile",
        "state": "s",
        "nonce": new_verifier()[:16],
        "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256",
    }
    page = httpx.post(f"{server.url}/authorize", params=params, data={"sub": "pi-pat"})
    assert page.status_code == 302, page.text
    return parse_qs(urlparse(page.headers["location"]).query)["code"][0]


def _redeem(server: PkceServer, code: str, verifier: str | None) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
        **({"code_verifier": verifier} if verifier is not None else {}),
    }
    return httpx.post(f"{server.url}/token", data=data)


def test_the_strict_server_refuses_a_wrong_or_missing_verifier(pkce_server):
    verifier = new_verifier()
    wrong = _redeem(pkce_server, _code(pkce_server, verifier), new_verifier())
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    missing = _redeem(pkce_server, _code(pkce_server, verifier), None)
    assert missing.status_code == 400
    assert "code_verifier" in missing.json()["error_description"]
    right = _redeem(pkce_server, _code(pkce_server, verifier), verifier)
    assert right.status_code == 200, right.text
    assert right.json()["access_token"]


def test_desktop_sign_in_passes_pkce_as_a_public_client(pkce_server, monkeypatch):
    config = AuthConfig(mode="oidc", issuer=pkce_server.url, client_id=CLIENT_ID, scopes="openid")
    assert config.client_secret is None
    session = OidcSession("http://127.0.0.1:1", config, TokenStore("http://127.0.0.1:1"))
    monkeypatch.setenv("FAKE_BROWSER_SUBJECT", "pi-pat")

    def system_browser(url: str) -> None:
        subprocess.run([sys.executable, str(FAKE_BROWSER), url], env=os.environ, check=True)

    tokens = session.login(system_browser)
    assert tokens.username == "pi-pat"  # from the ID token, checked against JWKS and nonce
    assert tokens.access_token
    assert session.access_token() == tokens.access_token


def test_device_sign_in_polls_until_the_person_approves(pkce_server):
    """`lamefair login --device`: the desktop shows the code, is told "pending" while the person
    has not approved yet, and gets its tokens once they have."""
    config = AuthConfig(mode="oidc", issuer=pkce_server.url, client_id=CLIENT_ID, scopes="openid")
    session = OidcSession("http://127.0.0.1:2", config, TokenStore("http://127.0.0.1:2"))
    shown: list[tuple[str, str]] = []

    def person_approves_after_a_first_poll(code: str) -> None:
        polls = pkce_server.device_polls
        while pkce_server.device_polls == polls:  # the desktop asked once and heard "pending"
            time.sleep(0.05)
        pkce_server.approve(code, "op-dev")

    def show(url: str, code: str) -> None:
        shown.append((url, code))
        threading.Thread(target=person_approves_after_a_first_poll, args=(code,)).start()

    polls_before = pkce_server.device_polls
    tokens = session.login_device(show, timeout=60)
    assert tokens.access_token
    assert session.access_token() == tokens.access_token
    [(url, code)] = shown
    assert url == f"{pkce_server.url}/device?user_code={code}"
    assert pkce_server.device_polls - polls_before >= 2  # pending, then approved
