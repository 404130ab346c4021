from __future__ import annotations

import pytest

CONTEXT = {
    "project": {"name": "Oxide interfaces"},
    "proposal": {"number": "2026-017", "pi_name": "Dr. Ada Lovelace"},
    "sample": {
        "id": "0b6f3c1e-8e0c-4d7b-9a57-2d1c3b4a5e6f",
        "name": "Fe3O4 nanoparticles",
        "identifier": "S-001",
        "preparation_date": "2026-10-01",
        "atom_types": ["Fe", "O"],
        "physical_form": "powder",
        "is_simulation": False,
        "description": "drop-cast on holey carbon",
    },
    "experiment": {
        "id": "a0e0c3a4-52d5-4c34-9d47-1e5b0f6a7c8d",
        "name": "TEM session 1",
        "description": "overview images",
        "start_time": "2026-11-20T09:00:00Z",
        "end_time": "2026-11-20T12:00:00Z",
    },
    "measurement": {"operator": "op-bob", "instrument_pair": "auto", "description": "grid 3"},
}


@pytest.fixture
def context() -> dict:
    import copy

    return copy.deepcopy(CONTEXT)
