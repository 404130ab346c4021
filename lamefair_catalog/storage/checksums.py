"""SHA-256 checksums as S3 wants them (base64) and as the catalog keeps them (lowercase hex)."""

from __future__ import annotations

import base64
import hashlib


def hex_to_b64(sha256_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def b64_to_hex(sha256_b64: str) -> str:
    return base64.b64decode(sha256_b64).hex()


def composite_sha256_b64(part_sha256_hex: list[str]) -> str:
    """S3's COMPOSITE multipart checksum: sha256 over the parts' raw digests, then `-<count>`."""
    digest = hashlib.sha256(b"".join(bytes.fromhex(h) for h in part_sha256_hex)).digest()
    return f"{base64.b64encode(digest).decode('ascii')}-{len(part_sha256_hex)}"
