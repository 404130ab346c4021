"""Stored data of the embedded catalog is reachable only through the catalog (signed S3 URLs).

The test plays another program on the same machine: it finds every socket the embedded `weed`
listens on (from /proc, not from our configuration) and tries to list, read, replace and delete
an uploaded object through each, over HTTP/1.1, plain gRPC and TLS without a client certificate.
"""

from __future__ import annotations

import json
import os
import re
import stat
import struct
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.support.catalog import Api, embedded_catalog, sha256_hex


def _listening_sockets(pid: int) -> tuple[set[int], set[str]]:
    """(TCP ports, Unix socket paths) on which process `pid` listens."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            match = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
        if match:
            inodes.add(match.group(1))
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    paths = set()
    for line in Path(f"/proc/{pid}/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) > 7 and fields[6] in inodes:
            paths.add(fields[7])
    return ports, paths


def _grpc_list_buckets(client: httpx.Client, base: str) -> bytes:
    """The filer's gRPC ListEntries of /buckets, framed by hand (no gRPC library needed)."""
    message = b"\x0a\x08/buckets"  # field 1 (directory), 8 bytes
    response = client.post(
        f"{base}/filer_pb.SeaweedFiler/ListEntries",
        content=b"\x00" + struct.pack(">I", len(message)) + message,
        headers={"content-type": "application/grpc", "te": "trailers"},
    )
    return response.content


def _answers(
    socket: int | str, requests: list[tuple[str, str, bytes | None]]
) -> list[tuple[bool, bytes]]:
    """Every body `socket` sends back, over HTTP/1.1, h2c gRPC and TLS gRPC without a client
    certificate, each with whether it answers a listing (a request that names nothing, so any
    name in the answer is a leak, not an echo); a refused or broken connection answers nothing."""
    clients = []
    for http2, scheme in ((False, "http"), (True, "http"), (True, "https")):
        transport = httpx.HTTPTransport(
            uds=socket if isinstance(socket, str) else None,
            http1=not http2,
            http2=http2,
            verify=False,
        )
        port = socket if isinstance(socket, int) else 80
        clients.append(
            (httpx.Client(transport=transport, timeout=3), f"{scheme}://127.0.0.1:{port}")
        )
    bodies = []
    for index, (client, base) in enumerate(clients):
        with client:
            try:
                if index == 0:
                    for method, path, body in requests:
                        answer = client.request(method, base + path, content=body).content
                        bodies.append((path == "/buckets/", answer))
                else:
                    bodies.append((True, _grpc_list_buckets(client, base)))
            except httpx.HTTPError:
                pass
    return bodies


@pytest.fixture
def embedded(tmp_path):
    with embedded_catalog(tmp_path) as catalog:
        yield catalog.url, catalog.data_dir


def test_embedded_storage_answers_only_through_signed_s3(embedded):
    url, data_dir = embedded
    api = Api(url, (data_dir / "token").read_text().strip())
    h = api.make_hierarchy()
    data = b"LAMEFAIR-PRIVATE-BYTES:" + os.urandom(200_000)
    measurement = api.ok(
        api.post(
            "/api/measurements",
            {
                "experiment": h["experiment"]["id"],
                "files": [{"path": "secret.bin", "size": len(data), "sha256": sha256_hex(data)}],
            },
        )
    )
    (file,) = measurement["files"]
    plan = api.ok(api.post(f"/api/files/{file['id']}/upload"))
    assert httpx.put(plan["url"], content=data, headers=plan["headers"]).status_code == 200
    api.ok(api.post(f"/api/files/{file['id']}/complete", {"parts": []}))
    bucket, key = h["proposal"]["raw_bucket"], file["key"]

    weed = int((data_dir / "seaweed" / "weed.pid").read_text())
    ports, unix_paths = _listening_sockets(weed)
    s3_port = urlparse(api.ok(api.get(f"/api/files/{file['id']}/download"))["url"]).port
    assert s3_port in ports
    assert len(ports) >= 4, ports  # master, volume, filer, S3 and their gRPC twins

    forged = b"REPLACED" * 1000
    requests = [
        ("GET", "/buckets/", None),
        ("GET", f"/buckets/{bucket}/", None),
        ("GET", f"/buckets/{bucket}/{key}", None),
        ("GET", f"/buckets/{bucket}/{key}?metadata=true", None),
        ("GET", f"/{bucket}/{key}", None),
        ("GET", "/dir/assign", None),
        ("PUT", f"/buckets/{bucket}/{key}", forged),
        ("POST", f"/buckets/{bucket}/{key}", forged),
        ("PUT", f"/{bucket}/{key}", forged),
        ("POST", "/submit", forged),
        ("DELETE", f"/buckets/{bucket}/{key}", None),
        ("DELETE", f"/{bucket}/{key}", None),
        ("GET", f"/col/delete?collection={bucket}", None),
    ]
    for socket in sorted(ports, key=str) + sorted(unix_paths):
        for listing, body in _answers(socket, requests):
            assert data[:40] not in body, f"{socket} gave out the object's bytes"
            if listing:
                assert bucket.encode() not in body, f"{socket} listed the bucket"

    download = api.ok(api.get(f"/api/files/{file['id']}/download"))
    assert httpx.get(download["url"]).content == data
    assert json.loads((data_dir / "server.json").read_text())["url"] == url
    # The keys that guard the other ports are the owner's alone.
    security = data_dir / "seaweed" / "security.toml"
    assert stat.S_IMODE(security.stat().st_mode) == 0o600
