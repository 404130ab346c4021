"""A folder of a bucket as an aria2 input file: for people who fetch in bulk with aria2c, which
checks each file's SHA-256 itself (`checksum=sha-256=`). The URLs are presigned: the file works
only while they are valid."""

from __future__ import annotations

from pathlib import Path

from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.transfer.download import Downloader


def aria2_manifest(entries: list[tuple[str, str, str | None]]) -> str:
    """An aria2 input file: each URL, then `out=` (relative path) and `checksum=sha-256=`."""
    lines = []
    for url, relative, sha256 in entries:
        lines.append(url)
        lines.append(f"  out={relative}")
        if sha256:
            lines.append(f"  checksum=sha-256={sha256}")
    return "\n".join(lines) + "\n"


def export_aria2(client: CatalogClient, bucket: str, prefix: str, destination: Path) -> int:
    """Write an aria2 input file for a folder; returns how many objects it lists."""
    downloader = Downloader(client)
    try:
        objects = downloader.list_prefix(bucket, prefix)
    finally:
        downloader.close()
    entries = []
    for start in range(0, len(objects), 1000):
        batch = objects[start : start + 1000]
        signed = {s["key"]: s["url"] for s in client.presign_keys(bucket, [o.key for o in batch])}
        entries += [(signed[o.key], o.relative_path, o.sha256) for o in batch]
    destination.write_text(aria2_manifest(entries), encoding="utf-8")
    return len(entries)
