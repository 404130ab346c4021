"""SeaweedFS's `security.toml` for the embedded store: only the S3 gateway answers without a key.

Without it every internal SeaweedFS port on 127.0.0.1 (master, volume server, filer, and their gRPC
twins) serves anyone on the machine: list all buckets on the filer, read a raw file from a volume,
replace an object's chunks, delete a whole bucket through the master. With it:

- volume server writes and reads need a JWT signed with keys only `weed` holds (`[jwt.signing]`,
  `[jwt.signing.read]`); the filer's HTTP API needs its own JWTs (`[jwt.filer_signing]`, `.read`);
- every gRPC port demands a client certificate from a CA made here (mTLS), so nobody can ask the
  master or filer to mint those JWTs, list entries or rewrite metadata over gRPC.

Everything is made afresh on each start (tokens live seconds, the certificates only need to outlive
the process), so nothing durable depends on it. The files are owner-only from the first byte;
`weed` reads `./security.toml` first, so the process runs with the folder as its working directory.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The gRPC roles SeaweedFS reads certificates for; a single-node server plays all of them.
_GRPC_ROLES = ("master", "volume", "filer", "s3", "client")
# Seconds a JWT stays valid: SeaweedFS's default, long enough for an S3 request to reach the volume.
_JWT_SECONDS = 10
_CERT_DAYS = 3650


def write_private(path: Path, data: bytes) -> None:
    """Write a secret owner-only from the first byte (a chmod after writing leaves a window)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    """A certificate for `key`, valid from a few minutes ago for `_CERT_DAYS`."""
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # a clock may step back a little
        .not_valid_after(now + datetime.timedelta(days=_CERT_DAYS))
    )


def _make_tls(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and one certificate (server and client use) it signs: (ca, cert, key) paths.

    SeaweedFS checks the chain, not host names, so one certificate serves every component.
    """
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("lamefair embedded storage CA")
    ca_cert = (
        _certificate(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _certificate(_name("lamefair-seaweedfs"), ca_name, key)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (folder / "ca.crt", folder / "seaweed.crt", folder / "seaweed.key")
    write_private(paths[0], ca_cert.public_bytes(serialization.Encoding.PEM))
    write_private(paths[1], cert.public_bytes(serialization.Encoding.PEM))
    write_private(
        paths[2],
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return paths


def _jwt_section(name: str) -> str:
    return (
        f'[{name}]\nkey = "{secrets.token_urlsafe(32)}"\nexpires_after_seconds = {_JWT_SECONDS}\n'
    )


def write_security_config(folder: Path) -> Path:
    """Write `security.toml` (and the TLS files it names) into `folder`; return its path."""
    tls_dir = folder / "tls"
    tls_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(tls_dir, 0o700)
    ca, cert, key = _make_tls(tls_dir)
    sections = [
        _jwt_section("jwt.signing"),
        _jwt_section("jwt.signing.read"),
        _jwt_section("jwt.filer_signing"),
        _jwt_section("jwt.filer_signing.read"),
        # The volume server's status page leaks volume ids and file counts; keep it off.
        "[access]\nui = false\n",
        # Without read JWTs on the filer this would list directories to anyone; off regardless.
        "[filer.expose_directory_metadata]\nenabled = false\n",
        # TOML literal strings ('...'): a Windows path's backslashes are not escapes there.
        f"[grpc]\nca = '{ca}'\n",
    ]
    sections += [f"[grpc.{role}]\ncert = '{cert}'\nkey = '{key}'\n" for role in _GRPC_ROLES]
    path = folder / "security.toml"
    write_private(path, "\n".join(sections).encode("utf-8"))
    return path
