"""OIDC sign-in end to end against oidc-provider-mock, the test playing the browser."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import httpx
import keyring
import pytest

from lamefair_desktop.catalog.auth import AuthConfig, AuthError, OidcSession, TokenStore
from lamefair_desktop.catalog.client import CatalogClient, SignInRequired
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from tests.support import components
from tests.support.catalog import ADMIN, Api, oidc_login, start_catalog

SECRET = "desktop-secret"  # the mock accepts only client_secret_basic (any secret)


@pytest.fixture(scope="module")
def short_lived_provider(tmp_path_factory):
    """Access tokens that expire after 2 s, to exercise refreshing."""
    provider = components.start_oidc_provider(
        tmp_path_factory.mktemp("oidc-short"), "--token-max-age", "2"
    )
    yield provider
    components.stop_pid(provider.process)


@pytest.fixture(scope="module")
def auth_catalog(seaweed, short_lived_provider, tmp_path_factory):
    folder = tmp_path_factory.mktemp("auth-catalog")
    server = start_catalog(
        f"sqlite:///{folder / 'c.sqlite'}", seaweed, short_lived_provider.issuer, folder
    )
    yield server
    server.stop()


def play_browser(provider, subject: str, groups: list[str]):
    """What a person does in the browser: pick the account on the authorize page."""
    httpx.put(
        f"{provider.issuer}/users/{subject}",
        json={"sub": subject, "preferred_username": subject, "groups": groups},
    ).raise_for_status()

    def open_browser(url: str) -> None:
        page = httpx.post(url, data={"sub": subject})
        assert page.status_code in (302, 303), page.text
        callback = page.headers["location"]
        assert urlparse(callback).hostname == "127.0.0.1"
        assert "code" in parse_qs(urlparse(callback).query)
        httpx.get(callback)  # the browser follows the redirect to our loopback listener

    return open_browser


@pytest.fixture
def session(auth_catalog) -> OidcSession:
    config = replace(AuthConfig.fetch(auth_catalog.url), client_secret=SECRET)
    return OidcSession(auth_catalog.url, config, TokenStore(auth_catalog.url), refresh_margin=1)


def test_auth_config_comes_from_the_server(auth_catalog, short_lived_provider):
    config = AuthConfig.fetch(auth_catalog.url)
    assert config.mode == "oidc"
    assert config.issuer == short_lived_provider.issuer
    assert config.client_id == "lamefair-desktop"


def test_pkce_login_stores_tokens_only_in_the_keyring(
    session, short_lived_provider, auth_catalog, memory_keyring, lamefair_home
):
    tokens = session.login(play_browser(short_lived_provider, "pi-eve", ["lamepi"]))
    assert tokens.username == "pi-eve"
    stored = keyring.get_password("lamefair", auth_catalog.url)
    assert tokens.refresh_token in stored
    assert session.store.persistent
    # Nothing secret on disk in our folders.
    for path in lamefair_home.rglob("*"):
        if path.is_file():
            assert tokens.access_token.encode() not in path.read_bytes()
    with CatalogClient(auth_catalog.url, session.token_source()) as client:
        assert client.me()["roles"][0] == "admin"


def test_state_mismatch_is_refused(session, short_lived_provider):
    def tampering_browser(url: str) -> None:
        page = httpx.post(url, data={"sub": "mallory"})
        callback = page.headers["location"].replace("state=", "state=forged")
        httpx.get(callback)

    with pytest.raises(AuthError, match="state"):
        session.login(tampering_browser)
    assert session.store.load() is None


def test_expiring_token_is_refreshed_before_use(session, short_lived_provider, auth_catalog):
    first = session.login(play_browser(short_lived_provider, "op-finn", ["lame-operators"]))
    time.sleep(2.5)  # the 2 s access token is now expired at the provider
    renewed = session.access_token()
    assert renewed
    assert renewed != first.access_token
    with CatalogClient(auth_catalog.url, session.token_source()) as client:
        assert "operator" in client.me()["roles"]


def test_401_then_refresh_then_success(session, short_lived_provider, auth_catalog):
    first = session.login(play_browser(short_lived_provider, "op-gina", ["lame-operators"]))
    # The client believes its token is good for an hour (clock skew, a provider restart...).
    session.store.save(replace(session.store.load(), expires_at=time.time() + 3600))
    time.sleep(2.5)
    with CatalogClient(auth_catalog.url, session.token_source()) as client:
        assert "operator" in client.me()["roles"]  # got 401, refreshed, retried
    assert session.store.load().access_token != first.access_token


def test_failed_refresh_asks_to_sign_in_and_uploads_wait_for_it(
    session, short_lived_provider, auth_catalog, tmp_path
):
    play = play_browser(short_lived_provider, "op-hal", ["lame-operators"])
    session.login(play)
    admin = Api(auth_catalog.url, oidc_login(short_lived_provider.issuer, *ADMIN)["access_token"])
    experiment = admin.make_hierarchy()["experiment"]
    source = tmp_path / "frame.tif"
    source.write_bytes(b"\x00" * 5000)
    queue = UploadQueue(open_local_db(tmp_path / "q.sqlite"))
    with CatalogClient(auth_catalog.url, session.token_source(), attempts=2) as client:
        uploader = Uploader(client, queue, UploadSettings(stable_seconds=0.05))
        uploader.register(experiment["id"], [source])
        # The provider forgets the user's tokens (revoked by an admin, or a restart): the
        # access token in hand is refused (one the server never saw, so no cache hides it) and
        # the refresh token no longer works.
        httpx.post(f"{short_lived_provider.issuer}/users/op-hal/revoke-tokens").raise_for_status()
        session.store.save(
            replace(session.store.load(), access_token="revoked", expires_at=time.time() + 3600)
        )
        assert uploader.run() == {"signin": 1}
        (waiting,) = queue.items()
        assert "sign in" in waiting.error
        assert session.store.load() is None  # nothing stale kept
        with pytest.raises(SignInRequired):
            client.me()
        session.login(play)
        assert uploader.resume_after_sign_in() == 1
        assert uploader.run() == {"stored": 1}


def test_logout_clears_the_keyring(session, short_lived_provider, auth_catalog):
    session.login(play_browser(short_lived_provider, "carl", []))
    assert keyring.get_password("lamefair", auth_catalog.url)
    session.logout()
    assert keyring.get_password("lamefair", auth_catalog.url) is None
    assert session.access_token() is None


def test_without_a_keyring_the_session_stays_in_memory_and_says_so(
    short_lived_provider, auth_catalog
):
    from keyring.backends.fail import Keyring as FailKeyring

    keyring.set_keyring(FailKeyring())  # the autouse fixture restores the previous backend
    config = replace(AuthConfig.fetch(auth_catalog.url), client_secret=SECRET)
    session = OidcSession(auth_catalog.url, config, TokenStore(auth_catalog.url))
    assert not session.store.persistent
    assert "memory only" in session.store.problem
    session.login(play_browser(short_lived_provider, "dora", []))
    assert session.access_token()


# Keycloak-like full paths: with them the ID token is the size real ones are (about 1.3 kB).
MANY_GROUPS = [f"/facility/instruments/microscope-{n}/operators" for n in range(12)]


def test_the_keyring_holds_only_the_refresh_token_and_a_restart_renews_from_it(
    short_lived_provider, auth_catalog
):
    """Windows refuses keyring entries over 2,560 bytes with an OSError: an access token plus an
    ID token do not fit, a refresh token does. A new session (a restart) renews from it."""
    from dataclasses import asdict

    from tests.support.memory_keyring import WINDOWS_ENTRY_BYTES, WindowsSizedKeyring

    windows = WindowsSizedKeyring()
    keyring.set_keyring(windows)  # the autouse fixture restores the previous backend
    config = replace(AuthConfig.fetch(auth_catalog.url), client_secret=SECRET)
    session = OidcSession(auth_catalog.url, config, TokenStore(auth_catalog.url))
    tokens = session.login(play_browser(short_lived_provider, "pi-kim", ["lamepi", *MANY_GROUPS]))
    assert len(json.dumps(asdict(tokens)).encode("utf-16-le")) > WINDOWS_ENTRY_BYTES
    assert session.store.persistent, session.store.problem
    (stored,) = windows.secrets.values()
    assert len(stored.encode("utf-16-le")) <= WINDOWS_ENTRY_BYTES
    assert tokens.refresh_token in stored
    assert tokens.access_token not in stored
    assert tokens.id_token not in stored

    restarted = OidcSession(auth_catalog.url, config, TokenStore(auth_catalog.url))
    with CatalogClient(auth_catalog.url, restarted.token_source()) as client:
        assert client.me()["username"] == "pi-kim"
    assert restarted.store.load().access_token not in ("", tokens.access_token)


def test_a_failing_keyring_keeps_the_session_in_memory_and_says_so(
    short_lived_provider, auth_catalog
):
    from tests.support.memory_keyring import BrokenKeyring

    keyring.set_keyring(BrokenKeyring())  # the autouse fixture restores the previous backend
    config = replace(AuthConfig.fetch(auth_catalog.url), client_secret=SECRET)
    session = OidcSession(auth_catalog.url, config, TokenStore(auth_catalog.url))
    tokens = session.login(play_browser(short_lived_provider, "op-lia", ["lame-operators"]))
    assert not session.store.persistent
    assert "memory only" in session.store.problem
    assert "locked" in session.store.problem
    with CatalogClient(auth_catalog.url, session.token_source()) as client:
        assert "operator" in client.me()["roles"]
    assert session.store.load().refresh_token == tokens.refresh_token
    session.logout()  # no crash either
    assert session.access_token() is None


def test_device_login_where_the_provider_offers_none(session):
    with pytest.raises(AuthError, match="no device sign-in"):
        session.login_device(lambda url, code: None)


def test_cli_login_through_the_system_browser(auth_catalog, short_lived_provider, tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_text(
        json.dumps({"server_url": auth_catalog.url, "oidc_client_secret": SECRET})
    )
    browser = Path(__file__).parents[1] / "support" / "fake_browser.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    env.update(
        LAMEFAIR_HOME=str(home),
        BROWSER=f"{sys.executable} {browser} %s",
        FAKE_BROWSER_SUBJECT="ivy",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",  # as on this bare machine
    )
    lamefair = str(Path(sys.executable).parent / "lamefair")
    result = subprocess.run(
        [lamefair, "login"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert f"Signed in to {auth_catalog.url} as ivy" in result.stdout
    assert "memory only" in result.stderr  # said, not silently written to a file
    device = subprocess.run(
        [lamefair, "login", "--device"], env=env, capture_output=True, text=True, timeout=60
    )
    assert device.returncode == 1
    assert "no device sign-in" in device.stderr


def test_sign_in_from_the_window(qtbot, auth_catalog, short_lived_provider, monkeypatch, tmp_path):
    """The Sign in button opens the system browser (here: the person's choice played by the
    test), the status bar then shows who is signed in and the catalog loads. The engines' process
    uploads with that sign-in (handed over, as this machine has no keyring to share it), renewing
    the 2-second tokens as it goes."""
    from lamefair_desktop.engines.workspace import Workspace
    from lamefair_desktop.home.settings import Settings
    from lamefair_desktop.ui import main_window
    from lamefair_desktop.ui.dialogs.upload_dialog import UploadRequest
    from lamefair_desktop.ui.window import connection

    settings = Settings(server_url=auth_catalog.url, oidc_client_secret=SECRET)
    window = main_window.MainWindow(open_workspace=lambda: Workspace.open(settings))
    qtbot.addWidget(window)
    with qtbot.waitSignals([window.workspace_ready, window.catalog_synced], timeout=60_000):
        window.show()
    assert window.user_label.text() == "not signed in"
    assert window.online_label.text() == "● online"
    assert "Sign in" in window.statusBar().currentMessage()
    assert window.login_action.isEnabled()

    browser = play_browser(short_lived_provider, "op-gui", ["lame-operators"])
    monkeypatch.setattr(connection.webbrowser, "open", browser)
    with qtbot.waitSignal(window.catalog_synced, timeout=60_000):
        window.login_action.trigger()
    assert window.user_label.text() == "op-gui"

    admin = Api(auth_catalog.url, oidc_login(short_lived_provider.issuer, *ADMIN)["access_token"])
    experiment = admin.make_hierarchy()["experiment"]
    frames = []
    for index in range(3):
        frames.append(tmp_path / f"frame{index}.tif")
        frames[-1].write_bytes(bytes([index]) * 9000)
        window.start_upload(
            UploadRequest(experiment["id"], (frames[-1],), "generic", "", "", False)
        )
        time.sleep(1.5)  # spread over the tokens' 2-second life: the child must renew them
    qtbot.waitUntil(
        lambda: (
            sorted((r.path, r.state) for r in window.transfers.model.rows)
            == [(f.name, "stored") for f in frames]
        ),
        timeout=60_000,
    )
    window.close()
    window.shutdown()


def test_a_refresh_refused_because_the_other_process_renewed_first_keeps_the_session(
    session, short_lived_provider, auth_catalog
):
    """The window and its engines' process share the keyring entry. A provider that rotates
    refresh tokens refuses the one the loser of a race still holds; the loser must keep the
    tokens the winner saved, not sign both processes out."""
    good = session.login(play_browser(short_lived_provider, "op-ida", ["lame-operators"]))
    engines = OidcSession(auth_catalog.url, session.config, TokenStore(auth_catalog.url))
    # The engines' process read the entry before the window renewed it: its refresh token is one
    # the provider refuses (a real refusal, from the provider).
    session.store.save(replace(good, refresh_token="already-rotated"))
    real_ask = engines._ask  # every request to the token endpoint goes through it

    def window_renews_first(request, *args, **kwargs) -> dict:
        session.store.save(good)  # the window's renewal lands in the shared keyring meanwhile
        return real_ask(request, *args, **kwargs)

    engines._ask = window_renews_first
    assert engines.refresh()
    assert session.store.load() == good
    with CatalogClient(auth_catalog.url, engines.token_source()) as client:
        assert "operator" in client.me()["roles"]


def test_a_provider_out_of_reach_during_a_refresh_keeps_the_session(
    session, short_lived_provider, auth_catalog
):
    """A network cut while renewing is not a refusal: the refresh token is kept, and the
    renewal works once the provider answers again (no new sign-in for a blip)."""
    session.login(play_browser(short_lived_provider, "op-jo", ["lame-operators"]))
    stored = session.store.load()
    discovery = session.discovery()
    with socket.socket() as closed:  # a port nobody listens on: connection refused
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/token"
    session._discovery = {**discovery, "token_endpoint": dead}
    assert not session.refresh()
    assert session.store.load() == stored
    session._discovery = discovery
    assert session.refresh()
    assert session.store.load().access_token != stored.access_token
