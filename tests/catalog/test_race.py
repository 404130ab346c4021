"""Twenty clients create the same sample at once: exactly one wins, the rest get 409, never 500.

Specified for PostgreSQL; run on SQLite too, where the embedded mode must behave the same.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx


def test_parallel_creates_of_one_name_have_one_winner(admin, catalog_server):
    h = admin.make_hierarchy()
    body = {"proposal": h["proposal"]["id"], "name": "Contended sample", "atom_types": ["Si"]}
    headers = {"Authorization": f"Bearer {admin.token}"}

    def create(_: int) -> httpx.Response:
        return httpx.post(
            f"{catalog_server.url}/api/samples", json=body, headers=headers, timeout=60
        )

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(create, range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19, statuses
    winner = next(r for r in responses if r.status_code == 201).json()
    assert {r.json()["existing_id"] for r in responses if r.status_code == 409} == {winner["id"]}
    samples = admin.ok(admin.get("/api/samples", proposal=h["proposal"]["id"]))
    assert [s["name"] for s in samples].count("Contended sample") == 1
