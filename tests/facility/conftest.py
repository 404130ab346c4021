"""One facility stack (stack.py) for the whole `facility` group, and the figures it reports.

The stack starts once for the package: the fault tests restore what they broke, so each starts
from two healthy catalogs, three volume servers, a gateway and a reachable database.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamefair_catalog.embedded.seaweed import SeaweedError
from tests.facility.stack import Stack, start_stack
from tests.support import components

MiB = 1024 * 1024
# ~200 MiB in all, two files over the catalog's 64 MiB multipart threshold.
SOURCE_SIZES = {"large-1.bin": 72 * MiB, "large-2.bin": 72 * MiB} | {
    f"small-{i}.bin": 8 * MiB for i in range(1, 8)
}


@pytest.fixture(scope="package")
def facility(tmp_path_factory) -> Iterator[Stack]:
    try:
        stack = start_stack(tmp_path_factory.mktemp("facility"))
    except (SeaweedError, RuntimeError) as exc:
        components.unavailable("facility stack", str(exc))
    yield stack
    stack.stop()


@pytest.fixture(scope="package")
def source_files(tmp_path_factory) -> dict[Path, str]:
    """The files every fault test uploads, with their SHA-256."""
    folder = tmp_path_factory.mktemp("facility-sources") / "acquisition"
    folder.mkdir()
    files = {}
    for name, size in SOURCE_SIZES.items():
        digest = hashlib.sha256()
        with open(folder / name, "wb") as handle:
            for _ in range(size // MiB):
                chunk = os.urandom(MiB)
                digest.update(chunk)
                handle.write(chunk)
        files[folder / name] = digest.hexdigest()
    return files


@pytest.fixture
def report(request, tmp_path):
    """`report(line)`: into the test's folder (facility-report.txt) and the terminal summary
    at the end of the run, captured output or not (`-s` makes no difference), from whichever
    xdist worker ran the test (tests/conftest.py gathers the lines)."""

    def add(line: str) -> None:
        with open(tmp_path / "facility-report.txt", "a") as handle:
            handle.write(line + "\n")
        request.node.user_properties.append(("facility figures", line))
        print(line)

    return add
