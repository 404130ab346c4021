"""The change feed under concurrent writers on PostgreSQL, through different catalog processes.

Writers patch experiments through both catalogs at once while a reader polls `since=rev` as the
desktop does. Revisions come from a sequence, handed out at INSERT and visible at COMMIT: without
the advisory lock in `record_change` a writer that got rev 10 can commit after one that got
rev 11, and a reader that already moved past 11 never sees 10. With the lock the reader skips
none and sees none twice. (Checked by hand: with the lock's statement removed, this test fails.)
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.facility.observers import all_revisions, feed_problems
from tests.facility.stack import Stack
from tests.support.catalog import Api

pytestmark = pytest.mark.facility

WRITERS_PER_CATALOG = 3
WRITES_EACH = 40


def test_a_polling_reader_skips_no_revision_of_concurrent_writers(facility: Stack, report):
    api = Api(facility.url, facility.admin_token)
    sample = api.make_hierarchy()["sample"]
    writers = [
        (catalog.url, api.make_experiment(sample, name=f"writer {i} via {catalog.url}")["id"])
        for catalog in facility.catalogs
        for i in range(WRITERS_PER_CATALOG)
    ]
    first = max(all_revisions(facility.url, facility.admin_token), default=0)
    headers = {"Authorization": f"Bearer {facility.admin_token}"}
    done = threading.Event()
    seen: list[int] = []

    def read(url: str) -> int:
        since, polls = first, 0
        with httpx.Client(timeout=30, headers=headers) as http:
            while True:
                finished = done.is_set()  # one more poll after the writers stopped
                body = http.get(f"{url}/api/changes", params={"since": since}).json()
                polls += 1
                seen.extend(change["rev"] for change in body["changes"])
                since = body["last_rev"]
                if finished and not body["changes"]:
                    return polls

    def write(url: str, experiment: str) -> None:
        with httpx.Client(timeout=30, headers=headers) as http:
            for n in range(WRITES_EACH):
                response = http.patch(
                    f"{url}/api/experiments/{experiment}", json={"description": f"write {n}"}
                )
                assert response.status_code == 200, response.text

    with ThreadPoolExecutor(len(writers) + 1) as pool:
        reader = pool.submit(read, facility.catalogs[-1].url)
        for future in [pool.submit(write, url, exp) for url, exp in writers]:
            future.result()
        done.set()
        polls = reader.result()

    committed = all_revisions(facility.url, facility.admin_token)
    mine = [rev for rev in committed if rev > first]
    assert len(mine) == len(writers) * WRITES_EACH
    assert feed_problems(seen, committed, first) == {"twice": [], "skipped": []}
    assert sorted(seen) == mine
    report(
        f"change feed: {len(writers)} writers on {len(facility.catalogs)} catalog processes, "
        f"{len(mine)} revisions, a reader's {polls} polls skipped none and saw none twice"
    )
