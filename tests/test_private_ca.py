"""A lab whose catalog, S3 gateway and identity provider carry certificates from its own CA.

Everything here speaks HTTPS with certificates for 127.0.0.1 signed by a CA made for the test: the
catalog (uvicorn), SeaweedFS's S3 gateway, and oidc-provider-mock behind HAProxy. The CA is in no
trust store and no SSL_CERT_FILE-style variable: only the `ca_bundle` setting (desktop) and
LAMEFAIR_S3_CA_BUNDLE / LAMEFAIR_OIDC_CA_BUNDLE (server) can make it trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from lamefair_catalog.embedded.seaweed import S3Credentials, SeaweedError, SeaweedServer
from lamefair_desktop.catalog.client import CatalogClient, CatalogUnreachable
from lamefair_desktop.catalog.connection import connect
from lamefair_desktop.engines.messages import Kick
from lamefair_desktop.engines.process import EngineProcess, EngineTarget
from lamefair_desktop.home.local_db import open_local_db
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.transfer.download import Downloader
from lamefair_desktop.transfer.progress import FileProgress
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from tests.support import components
from tests.support.catalog import Api, CatalogProcess, start_catalog
from tests.support.tls import LabCa, make_lab_ca, start_tls_proxy

SECRET = "desktop-secret"  # the mock accepts only client_secret_basic (any secret)
LAMEFAIR = str(Path(sys.executable).parent / "lamefair")
BROWSER = Path(__file__).parent / "support" / "fake_browser.py"
DONE = ("stored", "failed")
# Ways to trust a CA behind the app's back; none may be what makes these tests pass.
TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@dataclass
class Lab:
    ca: LabCa
    catalog: CatalogProcess
    issuer: str

    def settings(self, *, with_ca: bool = True) -> Settings:
        return Settings(
            server_url=self.catalog.url,
            ca_bundle=str(self.ca.ca_file) if with_ca else None,
            oidc_client_secret=SECRET,
        )


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("lab-tls")
    with pytest.MonkeyPatch.context() as patch:
        for name in TRUST_VARIABLES:
            patch.delenv(name, raising=False)  # for the servers started below, too
        ca = make_lab_ca(folder / "pki")
        seaweed = SeaweedServer(
            folder / "seaweed",
            S3Credentials.generate(),
            cert_file=ca.cert_file,
            key_file=ca.key_file,
            ca_bundle=ca.ca_file,
        )
        # SeaweedFS takes seconds to come up: meanwhile the provider and its proxy start. The
        # catalog starts after it: a weed that lost a port comes back on new ones. Whatever
        # started is stopped, even when a later one fails (HAProxy missing, say).
        with contextlib.ExitStack() as started:
            starting = ThreadPoolExecutor(1).submit(seaweed.start)
            started.callback(lambda: (starting.exception(), seaweed.stop()))  # its start first
            provider = components.start_oidc_provider(folder)
            started.callback(components.stop_pid, provider.process)
            proxy = start_tls_proxy(ca, urlparse(provider.issuer).port, folder)
            started.callback(proxy.stop)
            try:
                starting.result()
            except SeaweedError as exc:
                components.unavailable("SeaweedFS", str(exc))
            catalog = start_catalog(
                f"sqlite:///{folder / 'c.sqlite'}",
                seaweed,
                proxy.url,
                folder,
                tls=ca,
                LAMEFAIR_S3_CA_BUNDLE=str(ca.ca_file),
                LAMEFAIR_OIDC_CA_BUNDLE=str(ca.ca_file),
            )
            started.callback(catalog.stop)
            yield Lab(ca, catalog, proxy.url)


@pytest.fixture(autouse=True)
def no_trust_from_the_environment(monkeypatch):
    for name in TRUST_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def the_browser(lab: Lab, subject: str, groups: list[str]):
    """The person at the lab's browser, which trusts the lab's CA (the lab installed it there)."""
    verify = lab.ca.context()
    claims = {"sub": subject, "preferred_username": subject, "groups": groups}
    httpx.put(f"{lab.issuer}/users/{subject}", json=claims, verify=verify).raise_for_status()

    def open_browser(url: str) -> None:
        page = httpx.post(url, data={"sub": subject}, verify=verify)
        assert page.status_code in (302, 303), page.text
        httpx.get(page.headers["location"])  # our loopback listener: plain http

    return open_browser


def test_sign_in_upload_and_download_trust_the_labs_ca(lab, tmp_path):
    """Sign in, then the window registers a file, the engines' process uploads it to S3 over
    TLS and the file comes back intact: each hop trusts the lab's CA from the one setting."""
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{lab.catalog.url}/api/health")  # the default trust store does not know it
    settings = lab.settings()
    connection = connect(settings)
    tokens = connection.session.login(the_browser(lab, "pi-tls", ["lamepi"]))
    assert tokens.username == "pi-tls"
    # The catalog checks that token against the provider's keys, and makes buckets in S3: both
    # over TLS, trusting the CA it was given.
    api = Api(lab.catalog.url, tokens.access_token, httpx.Client(verify=lab.ca.context()))
    experiment = api.make_hierarchy()["experiment"]
    source = tmp_path / "frame.tif"
    source.write_bytes(os.urandom(300_000))
    database = tmp_path / "local.sqlite"
    registering = Uploader(
        connection.client, UploadQueue(open_local_db(database)), UploadSettings(stable_seconds=0)
    )
    measurement = registering.register(experiment["id"], [source])
    registering.close()

    engines = EngineProcess(
        EngineTarget(
            server_url=lab.catalog.url,
            database=str(database),
            token=tokens.access_token,
            oidc=False,
            settings=settings,
            attempts=2,
            backoff=0.1,
            catalog_id=connection.client.catalog_id,  # as EngineTarget.of(workspace) passes it
        )
    )
    engines.start()
    try:
        engines.send(Kick())
        last: FileProgress | None = None  # the file's newest progress, as its row shows it
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (last is None or last.state not in DONE):
            event = engines.next_event(0.2)
            if isinstance(event, FileProgress):
                last = event
    finally:
        engines.stop()
    assert last is not None
    assert (last.state, last.error) == ("stored", "")

    (file,) = measurement["files"]
    assert connection.client.download_url(file["id"])["sha256"] == (
        hashlib.sha256(source.read_bytes()).hexdigest()
    )
    downloader = Downloader(connection.client)
    try:
        back = downloader.file(file["id"], tmp_path / "back")
    finally:
        downloader.close()
        connection.close()
    assert back.read_bytes() == source.read_bytes()


def _lamefair(home: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    env.update(
        LAMEFAIR_HOME=str(home),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        **env_extra,
    )
    return subprocess.run([LAMEFAIR, *args], env=env, capture_output=True, text=True, timeout=120)


def test_without_the_ca_bundle_the_cli_names_the_certificate_problem(lab, tmp_path):
    """No ca_bundle: `lamefair login` and `lamefair upload` stop at once, saying which
    certificate is not trusted, why, and which setting fixes it."""
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_text(
        json.dumps({"server_url": lab.catalog.url, "oidc_client_secret": SECRET})
    )
    source = tmp_path / "spectrum.msa"
    source.write_text("#FORMAT: EMSA/MAS spectral data file\n")
    login = _lamefair(
        home,
        "login",
        BROWSER=f"{sys.executable} {BROWSER} %s",
        FAKE_BROWSER_CA=str(lab.ca.ca_file),  # the browser would trust it: lamefair must not
    )
    upload = _lamefair(
        home, "upload", "--experiment", str(uuid.uuid4()), str(source), LAMEFAIR_TOKEN="any"
    )
    port = urlparse(lab.catalog.url).port
    for result in (login, upload):
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert (
            f"The certificate of 127.0.0.1:{port} is not trusted "
            "(unable to get local issuer certificate)"
        ) in result.stderr
        assert "set its CA certificate (a PEM file) as the CA bundle in Settings" in result.stderr

    # Not retried with backoff (here 15 to 30 s before a second try): waiting cannot fix it.
    with CatalogClient(lab.catalog.url, "any", attempts=2, backoff=30) as client:
        started = time.monotonic()
        with pytest.raises(CatalogUnreachable, match="not trusted"):
            client.me()
        assert time.monotonic() - started < 10


def test_an_untrusted_provider_is_named_as_a_certificate_problem(lab):
    """The catalog is trusted but the provider's certificate is not (say the lab's CA bundle
    covers only the catalog): sign-in names the certificate problem, not 'does not answer'."""
    from lamefair_desktop.catalog.auth import AuthConfig, AuthError, OidcSession
    from lamefair_desktop.catalog.tls import http_client

    with http_client(str(lab.ca.ca_file), timeout=10) as trusted:
        config = AuthConfig.fetch(lab.catalog.url, trusted)
    session = OidcSession(lab.catalog.url, config, ca_bundle=None)  # the public CAs only
    with pytest.raises(AuthError, match=r"The certificate of 127\.0\.0\.1:\d+ is not trusted"):
        session.discovery()
