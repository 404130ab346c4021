"""Which mapping files already passed the schema, so a fresh `lamefair convert` skips jsonschema.

Checking the ten shipped mappings against `mapping.schema.json` costs about 14 ms of CPU in every
new process, as much as reading and writing a 4096 x 4096 image. A file's verdict depends only on
its bytes and the schema's (Draft 2020-12's meaning is fixed, so the jsonschema release is left out:
asking importlib.metadata for it would cost most of what is saved), so the SHA-256 of both is kept in
the cache folder once a file passes; failures are never kept (a broken file is checked, and named,
every time). The memo is only a shortcut: when it cannot be read or written, every file is checked.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

from lamefair_desktop.home.paths import cache_dir

MEMO_FILE = "mappings-checked.txt"
_MAX_KEYS = 500  # mappings edited often leave old keys; keep the file small


def verdict_key(schema: bytes, mapping: bytes) -> str:
    digest = hashlib.sha256(b"lamefair mapping schema check 1")
    for part in (schema, mapping):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _memo_path() -> Path:
    return cache_dir() / MEMO_FILE


@cache
def _known() -> set[str]:
    try:
        return set(_memo_path().read_text(encoding="ascii").split())
    except (OSError, ValueError):
        return set()


def passed_before(key: str) -> bool:
    return key in _known()


def remember_passed(key: str) -> None:
    known = _known()
    if key in known:
        return
    known.add(key)
    path = _memo_path()
    temporary = path.with_name(f".{MEMO_FILE}.{os.getpid()}")
    try:
        temporary.write_text("\n".join(sorted(known)[-_MAX_KEYS:]) + "\n", encoding="ascii")
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
