"""Whom the app's HTTPS clients trust, and the one place where those clients are made.

Every HTTP client of the desktop comes from here, so the `ca_bundle` setting reaches all of them:
a single client left on the default trust store is the first upload failing behind a lab's
private certificate authority. `http_client()` (httpx) serves the catalog API, sign-in and the
presigned GETs; the presigned PUTs go through urllib3 (transfer/s3_requests.py), with the same SSL
context and the same proxies from the environment.

The lab's CA is added to the public CAs (certifi), not put in their place: the catalog may sit
behind the lab's CA while the identity provider has a public certificate. It is loaded into an
explicit SSL context, so environment variables such as SSL_CERT_FILE play no part once it is set.

A certificate that cannot be verified is raised as `UntrustedCertificate`, an httpx.ConnectError
whose message names the problem and the setting that fixes it. Retry loops stop on it: waiting
does not make a certificate trusted.
"""

from __future__ import annotations

import functools
import os
import ssl
from pathlib import Path
from typing import TypeVar

import certifi
import httpx

C = TypeVar("C", bound=httpx.Client)


class UntrustedCertificate(httpx.ConnectError):
    """The server's certificate could not be verified; the message says why and what to set."""


class CaBundleError(ValueError):
    """The configured CA bundle cannot be read as PEM certificates."""


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """httpx's `verify=`: the public CAs, plus the lab's own when `ca_bundle` names one."""
    if not ca_bundle:
        return _public_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = ssl.create_default_context(cafile=certifi.where())
    path = Path(ca_bundle).expanduser()
    try:
        context.load_verify_locations(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise CaBundleError(
            f"The CA bundle {path} cannot be used ({exc}); set a PEM file with your "
            "institute's CA certificate in Settings, or clear the setting."
        ) from exc
    return context


@functools.cache
def _public_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """httpx's own default (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), made once per process:
    loading the CA list takes ~70 ms, and every client (catalog, S3, sign-in) made its own."""
    return httpx.create_ssl_context(verify=True, trust_env=True)


def certificate_problem(exc: BaseException) -> str | None:
    """Why verification failed ("unable to get local issuer certificate"...), or None when the
    error has nothing to do with the certificate."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or current.reason or str(current)
        current = current.__cause__ or current.__context__
    return None


def untrusted_message(server: str, problem: str, ca_bundle: str | None) -> str:
    """What to tell the user about a certificate that could not be verified, and what to set."""
    advice = (
        f"the CA bundle {ca_bundle} does not vouch for it"
        if ca_bundle
        else "if your lab uses its own certificate authority, set its CA certificate "
        "(a PEM file) as the CA bundle in Settings"
    )
    return f"The certificate of {server} is not trusted ({problem}); {advice}."


class _CertificateAware:
    """Mixed into an httpx.Client (or a subclass: authlib's OAuth2Client for signing in) to name
    an untrusted certificate. Done in `send` rather than in a transport of our own: a client given
    `transport=` ignores HTTPS_PROXY and friends, and labs behind a proxy would reach nothing."""

    ca_bundle: str | None = None

    def send(self, request: httpx.Request, **kwargs) -> httpx.Response:
        try:
            return super().send(request, **kwargs)  # type: ignore[misc]
        except httpx.ConnectError as exc:
            problem = certificate_problem(exc)
            if problem is None:
                raise
            server = f"{request.url.host}:{request.url.port or 443}"
            raise UntrustedCertificate(
                untrusted_message(server, problem, self.ca_bundle), request=request
            ) from exc


@functools.cache
def _certificate_aware(client_class: type[httpx.Client]) -> type[httpx.Client]:
    return type(f"CertificateAware{client_class.__name__}", (_CertificateAware, client_class), {})


def http_client(ca_bundle: str | None, client_class: type[C] = httpx.Client, **kwargs) -> C:
    """A `client_class` (httpx.Client or a subclass) trusting the public CAs and `ca_bundle`,
    honouring the environment's proxies; `kwargs` go to `client_class`."""
    client = _certificate_aware(client_class)(verify=ssl_context(ca_bundle), **kwargs)
    client.ca_bundle = ca_bundle
    return client
