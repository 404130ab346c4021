"""The real components the suite relies on are really there and really behave as we assume."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
import tifffile
from sqlalchemy import create_engine, text


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_seaweedfs_presigned_put_checks_the_signed_sha256(s3_client):
    s3_client.create_bucket(Bucket="lame-foundation")
    body = b"electrons" * 10_000
    checksum = _sha256_b64(body)
    url = s3_client.generate_presigned_url(
        "put_object",
        Params={"Bucket": "lame-foundation", "Key": "probe/a.bin", "ChecksumSHA256": checksum},
        ExpiresIn=300,
    )
    assert "x-amz-checksum-sha256" in url  # the checksum is part of the signature

    tampered = body[:-1] + b"X"
    refused = httpx.put(url, content=tampered, headers={"x-amz-checksum-sha256": checksum})
    assert refused.status_code == 400
    assert "BadDigest" in refused.text

    unsigned = httpx.put(url, content=body)  # checksum header dropped: signature no longer matches
    assert unsigned.status_code == 403

    stored = httpx.put(url, content=body, headers={"x-amz-checksum-sha256": checksum})
    assert stored.status_code == 200, stored.text

    head = s3_client.head_object(
        Bucket="lame-foundation", Key="probe/a.bin", ChecksumMode="ENABLED"
    )
    assert head["ContentLength"] == len(body)
    assert head["ChecksumSHA256"] == checksum
    got = s3_client.get_object(Bucket="lame-foundation", Key="probe/a.bin")["Body"].read()
    assert got == body


def test_seaweedfs_refuses_wrong_credentials(seaweed):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    intruder = boto3.client(
        "s3",
        endpoint_url=seaweed.endpoint,
        aws_access_key_id=seaweed.credentials.access_key,
        aws_secret_access_key="not-the-secret",
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    with pytest.raises(ClientError) as info:
        intruder.list_buckets()
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_postgresql_database_is_fresh_and_writable():
    from tests.support.components import create_postgres_database, drop_postgres_database

    database = create_postgres_database()  # its own, not the session's shared one
    try:
        _check_fresh_and_writable(database)
    finally:
        drop_postgres_database(database)


def _check_fresh_and_writable(postgres_database):
    engine = create_engine(postgres_database.url)
    with engine.begin() as conn:
        assert conn.execute(text("select current_database()")).scalar() == postgres_database.name
        tables = conn.execute(
            text("select count(*) from information_schema.tables where table_schema='public'")
        ).scalar()
        assert tables == 0
        conn.execute(text("create table probe (id serial primary key, name text unique)"))
        conn.execute(text("insert into probe (name) values ('a')"))
        assert conn.execute(text("select name from probe")).scalar() == "a"
    engine.dispose()


def test_oidc_provider_serves_discovery_and_jwks(oidc_provider):
    discovery = httpx.get(f"{oidc_provider.issuer}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == oidc_provider.issuer
    assert discovery["authorization_endpoint"].startswith(oidc_provider.issuer)
    assert "S256" in discovery.get("code_challenge_methods_supported", ["S256"])
    jwks = httpx.get(discovery["jwks_uri"]).json()
    assert jwks["keys"], "the provider publishes at least one signing key"


def test_every_corpus_tiff_opens_with_tifffile(corpus_tiffs):
    assert len(corpus_tiffs) >= 6
    for path in corpus_tiffs:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            assert page.shape, path.name
            data = page.asarray()
            assert data.size > 0, path.name


def test_seaweedfs_orphan_of_a_killed_parent_is_replaced(tmp_path):
    """After the embedded server is killed with -9, the next start must not trip over the old weed."""
    from lamefair_catalog.embedded.seaweed import S3Credentials, SeaweedServer

    credentials = S3Credentials.generate()
    first = SeaweedServer(tmp_path, credentials).start()
    orphan_pid = first.process.pid
    first.process = None  # forget it, as a killed parent would
    second = SeaweedServer(tmp_path, credentials).start()
    try:
        import os

        with pytest.raises(ProcessLookupError):
            os.kill(orphan_pid, 0)
        assert second.process.poll() is None
    finally:
        second.stop()


def test_seaweedfs_whose_port_was_taken_before_it_started_starts_on_others(tmp_path):
    """Ports are picked free and bound by weed a second later: another program (another test
    worker, on a lab PC anything) can take one meanwhile. weed then exits; the start goes on."""
    import socket

    import httpx

    from lamefair_catalog.embedded.seaweed import S3Credentials, SeaweedServer

    server = SeaweedServer(tmp_path, S3Credentials.generate())
    taken = server.ports.s3
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        server.start()
        try:
            assert server.ports.s3 != taken
            assert httpx.get(f"{server.endpoint}/", timeout=5).status_code in (200, 403)
            assert "address already in use" in server.log_path.read_text(errors="replace")
        finally:
            server.stop()
