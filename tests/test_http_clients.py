"""The desktop's HTTP clients and the embedded storage's key file, on details that only bite in
the field: a lab behind an HTTP proxy, and Windows paths."""

from __future__ import annotations

import ssl
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lamefair_catalog.embedded.seaweed_security import write_security_config
from lamefair_desktop.catalog.client import CatalogUnreachable
from lamefair_desktop.catalog.retry import RetryPolicy
from lamefair_desktop.catalog.tls import http_client
from lamefair_desktop.transfer.s3_requests import S3Requests, file_chunks
from tests.support.tls import make_lab_ca


class _Proxy(BaseHTTPRequestHandler):
    """Answers every request itself, as an HTTP proxy would after forwarding it."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = f"via proxy: {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.puts.append((self.path, body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def proxy(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    server.puts = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    yield server
    server.shutdown()
    server.server_close()


def _put(requests: S3Requests, url: str, body_of, length: int):
    return requests.put(
        lambda refresh: (url, {"x-amz-checksum-sha256": "c2lnbmVk"}),
        body_of,
        "f.bin",
        threading.Event(),
        lambda: None,
        length=length,
    )


def test_the_clients_go_through_the_proxy_the_environment_names(monkeypatch):
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        # A name that resolves nowhere: only a client that uses the proxy gets an answer.
        with http_client(None, timeout=10) as client:
            answer = client.get("http://catalog.lab.invalid/api/health")
        assert answer.text == "via proxy: http://catalog.lab.invalid/api/health"
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_presigned_puts_go_through_the_proxy_the_environment_names(proxy):
    """The PUTs use urllib3, which reads no environment of its own: a lab that reaches its
    storage through a proxy would reach nothing."""
    requests = S3Requests(None, RetryPolicy(attempts=1))
    try:
        url = "http://s3.lab.invalid/raw/f.bin?X-Amz-Signature=abc"
        _put(requests, url, lambda: memoryview(b"the bytes"), 9)
    finally:
        requests.close()
    assert proxy.puts == [(url, b"the bytes")]


def test_a_source_that_fails_while_it_is_sent_is_not_retried_as_the_network(proxy, tmp_path):
    """urllib3 wraps an OSError raised by the body (the file deleted, an unplugged disk) as a
    connection error; retried, the upload would wait for a network that is fine instead of
    saying at once that the file is gone."""
    gone = tmp_path / "deleted.bin"
    requests = S3Requests(None, RetryPolicy(attempts=5, backoff=5.0))
    try:
        with pytest.raises(FileNotFoundError):
            _put(requests, "http://s3.lab.invalid/raw/f.bin", lambda: file_chunks(gone, 20), 20)
    finally:
        requests.close()
    assert not requests.retries


def test_presigned_puts_trust_the_labs_ca_and_name_a_certificate_they_do_not(tmp_path):
    """Storage behind the lab's own CA: with the CA bundle set the PUT goes through; without,
    it stops at once (no retries: waiting cannot make a certificate trusted), saying which
    certificate and which setting fixes it."""
    ca = make_lab_ca(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    server.puts = []  # type: ignore[attr-defined]
    serving = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving.load_cert_chain(ca.cert_file, ca.key_file)
    server.socket = serving.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}/raw/f.bin"
    try:
        trusting = S3Requests(str(ca.ca_file), RetryPolicy(attempts=1))
        _put(trusting, url, lambda: memoryview(b"abc"), 3)
        trusting.close()
        assert server.puts == [("/raw/f.bin", b"abc")]

        untrusting = S3Requests(None, RetryPolicy(attempts=5, backoff=5.0))
        with pytest.raises(CatalogUnreachable) as refused:
            _put(untrusting, url, lambda: memoryview(b"abc"), 3)
        untrusting.close()
    finally:
        server.shutdown()
        server.server_close()
    assert f"The certificate of 127.0.0.1:{server.server_address[1]} is not trusted" in str(
        refused.value
    )
    assert "as the CA bundle in Settings" in str(refused.value)
    assert not untrusting.retries


def test_the_storage_key_file_reads_back_paths_with_backslashes(tmp_path: Path):
    """On Windows every path has backslashes; in a TOML basic string they are escapes, and the
    embedded SeaweedFS then refused its own key file."""
    folder = tmp_path / "C:\\Users\\operator\\lamefair"
    folder.mkdir()
    config = tomllib.loads(write_security_config(folder).read_text(encoding="utf-8"))
    ca = Path(config["grpc"]["ca"])
    assert ca.is_file()
    assert str(folder) in str(ca)
