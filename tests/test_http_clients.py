"""The desktop's HTTP clients and the embedded storage's key file, on details that only bite in
the field: a lab behind an HTTP proxy, and Windows paths."""

from __future__ import annotations

import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lamefair_catalog.embedded.seaweed_security import write_security_config
from lamefair_desktop.catalog.tls import http_client


class _Proxy(BaseHTTPRequestHandler):
    """Answers every request itself, as an HTTP proxy would after forwarding it."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = f"via proxy: {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


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


def test_the_storage_key_file_reads_back_paths_with_backslashes(tmp_path: Path):
    """On Windows every path has backslashes; in a TOML basic string they are escapes, and the
    embedded SeaweedFS then refused its own key file."""
    folder = tmp_path / "C:\\Users\\operator\\lamefair"
    folder.mkdir()
    config = tomllib.loads(write_security_config(folder).read_text(encoding="utf-8"))
    ca = Path(config["grpc"]["ca"])
    assert ca.is_file()
    assert str(folder) in str(ca)
