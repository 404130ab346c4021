"""A lab's own certificate authority, made for the test, and HAProxy terminating TLS in front of a
plain HTTP service (as a lab puts its identity provider behind a proxy with its CA's certificate).

The CA exists only in files under the test's temporary folder: it is never added to the system's
trust store, so nothing trusts it unless it is handed over explicitly.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import trustme

from lamefair_catalog.embedded.ports import free_port
from tests.support.components import (
    PortClash,
    exited_on_port_clash,
    log_size,
    retry_on_port_clash,
    spawn_logged,
    stop_pid,
    unavailable,
    wait_http,
)


@dataclass(frozen=True)
class LabCa:
    ca_file: Path  # what a user sets as the CA bundle
    cert_file: Path  # a certificate for 127.0.0.1 (IP SAN), signed by the CA
    key_file: Path
    combined_file: Path  # key + certificate in one PEM, as HAProxy wants it

    def context(self) -> ssl.SSLContext:
        """Trusting this CA only: for the test's own requests (the lab's browser, checks)."""
        return ssl.create_default_context(cafile=self.ca_file)


def make_lab_ca(folder: Path) -> LabCa:
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Test lab CA")
    server = ca.issue_cert("127.0.0.1")  # an IP address: trustme makes it an IP SAN
    files = LabCa(
        folder / "lab-ca.pem", folder / "server.pem", folder / "server.key", folder / "both.pem"
    )
    ca.cert_pem.write_to_path(files.ca_file)
    server.cert_chain_pems[0].write_to_path(files.cert_file)
    server.private_key_pem.write_to_path(files.key_file)
    server.private_key_and_cert_chain_pem.write_to_path(files.combined_file)
    return files


@dataclass
class TlsProxy:
    url: str
    process: subprocess.Popen

    def stop(self) -> None:
        stop_pid(self.process)


TLS_PROXY_CONFIG = """global
    maxconn 256
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend tls
    bind 127.0.0.1:{port} ssl crt {ca.combined_file}
    http-request set-header X-Forwarded-Proto https
    default_backend plain
backend plain
    server upstream 127.0.0.1:{upstream_port}
"""


def start_tls_proxy(ca: LabCa, upstream_port: int, folder: Path) -> TlsProxy:
    """HAProxy on a free port, serving `ca`'s certificate and passing plain HTTP upstream.

    X-Forwarded-Proto tells the upstream (uvicorn trusts it from 127.0.0.1) that clients came
    over https, so the URLs it puts in its answers (an OIDC issuer's endpoints) say https.
    """
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/bin")
    if haproxy is None:
        unavailable("HAProxy", "not installed; run packaging/test-deps.sh (make test does)")

    def start() -> TlsProxy:
        port = free_port()
        config = folder / f"haproxy-{port}.cfg"
        config.write_text(TLS_PROXY_CONFIG.format(port=port, ca=ca, upstream_port=upstream_port))
        log_path = folder / f"haproxy-{port}.log"
        since = log_size(log_path)
        process = spawn_logged([haproxy, "-db", "-f", str(config)], log_path)
        url = f"https://127.0.0.1:{port}"
        try:
            wait_http(url, process, 30, "haproxy", verify=ca.context())
        except RuntimeError as exc:
            stop_pid(process)
            if exited_on_port_clash(process, log_path, since):
                raise PortClash(str(exc)) from None
            unavailable("HAProxy", f"{exc}: {log_path.read_text()[-2000:]}")
        return TlsProxy(url, process)

    try:
        return retry_on_port_clash(start, "haproxy")
    except RuntimeError as exc:
        unavailable("HAProxy", str(exc))
        raise
