"""How `make test` shares the suite among pytest-xdist workers (`--dist loadfile`).

Each worker starts the real components of its own session (SeaweedFS, the OIDC provider, the
catalogs, PostgreSQL databases named after it) on ports it picks and in temporary folders of its
own (xdist gives each worker a base folder): nothing is shared between workers but the PostgreSQL
server. Work goes out a file at a time, so module fixtures start once per file, and the facility
package as one unit, so its stack starts once. The longest files go first, so that no worker is
left running one of them alone at the end. A serial run keeps the files' own order.
"""

from __future__ import annotations

import os

import pytest
from xdist.scheduler import LoadScopeScheduling

# The longest units in `pytest --durations=0` (serial; seconds on a loaded 2-core machine, with
# the session's components started in the first file that needs them). Files not listed follow
# in their own order: keep the few that matter, not every file.
LONG_FILES_FIRST = [
    "tests/facility/",  # 112 s: a SeaweedFS cluster, two catalogs, HAProxy, 200 MiB uploads
    "tests/nomad/test_nomad_reads_nxem.py",  # 71 s: NOMAD builds its metainfo first
    "tests/transfer/test_control.py",  # 50 s
    "tests/catalog/test_server_modes.py",  # 49 s
    "tests/transfer/test_watch.py",  # 47 s
    "tests/transfer/test_cli.py",  # 38 s
    "tests/catalog/test_fuzz.py",  # 37 s
    "tests/transfer/test_catalog_identity.py",  # 35 s
    "tests/auth/test_login.py",  # 34 s
    "tests/transfer/test_derived.py",  # 33 s
    "tests/ui/test_transfers_panel.py",  # 32 s
    "tests/ui/test_app_restart.py",  # 31 s
]
SINGLE_UNIT_PACKAGES = ("tests/facility/",)


def in_worker() -> bool:
    return bool(os.environ.get("PYTEST_XDIST_WORKER"))


def unit_of(nodeid: str) -> str:
    """The file, or the package for those that must run together on one worker."""
    path = nodeid.split("::", 1)[0]
    return next((package for package in SINGLE_UNIT_PACKAGES if path.startswith(package)), path)


class FileOrPackageScheduling(LoadScopeScheduling):
    """`--dist loadfile` with SINGLE_UNIT_PACKAGES as one unit each. (Not `loadgroup` with
    xdist_group marks: on pytest 9.2 its renamed node ids no longer take effect and every test
    goes out alone, pytest-xdist issue #1386.)"""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log) -> LoadScopeScheduling | None:
    if config.getvalue("dist") == "loadfile":
        return FileOrPackageScheduling(config, log)
    return None  # another --dist: xdist's own


def longest_first(items: list[pytest.Item]) -> None:
    """The order xdist hands out the units in, with --no-loadscope-reorder (a stable sort: each
    file keeps its own order). Every worker collects, and sorts, the same way."""
    if in_worker():
        rank = {unit: index for index, unit in enumerate(LONG_FILES_FIRST)}
        items.sort(key=lambda item: rank.get(unit_of(item.nodeid), len(rank)))
