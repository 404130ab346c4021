"""What the details pane shows for a catalog entry (catalog/details.py), without Qt."""

from __future__ import annotations

from lamefair_desktop.catalog.details import StoredText, details_of, local_time
from lamefair_desktop.catalog.tree import TreeNode

SAMPLE = {
    "id": "s1",
    "name": "LSMO film",
    "identifier": "S-42",
    "preparation_date": "2026-10-01",
    "atom_types": ["La", "Sr", "Mn", "O"],
    "physical_form": "",
    "is_simulation": False,
    "description": "",
    "created_at": "2026-12-07T09:30:00+00:00",
    "created_by": "ada",
}
KEY = "oxides/PROPOSAL-2026-17/SAMPLE-lsmo/EXP-hrstem/raw/20261120-090000-abcd/"
MEASUREMENT = {
    "id": "m1",
    "slug": "20261120-090000-abcd",
    "description": "two overviews",
    "operator": "bob",
    "created_by": "bob",
    "files": [
        {"path": "run/a.tif", "bucket": "raw-b", "key": KEY + "run/a.tif", "size": 2048,
         "state": "stored", "derived": [{"key": KEY + "run/a.nxs"}]},
        {"path": "b.tif", "bucket": "raw-b", "key": KEY + "b.tif", "size": 1024,
         "state": "failed"},
    ],
}  # fmt: skip


def test_a_sample_shows_its_fields_counts_and_who_created_it():
    details = details_of(TreeNode("sample", "s1", "LSMO film", SAMPLE, child_count=3))
    fields = dict(details.fields)
    assert details.title == "Sample · LSMO film"
    assert fields["Elements"] == "La, Sr, Mn, O"
    assert fields["Identifier"] == "S-42"
    assert fields["Preparation date"] == "2026-10-01"
    assert fields["Simulated"] == "no"
    assert "Physical form" not in fields  # empty values are left out
    assert details.counts == "3 experiments"
    assert details.created == f"created by ada on {local_time(SAMPLE['created_at'])}"
    assert details.readme is None
    assert details.size is None


def test_a_measurement_counts_its_files_and_knows_where_its_readme_is():
    details = details_of(TreeNode("measurement", "m1", "20261120-090000-abcd", MEASUREMENT))
    assert details.title == "Measurement · two overviews"  # what was typed, not the slug
    assert dict(details.fields)["Folder"] == "20261120-090000-abcd"
    assert details.counts == "2 file(s), 1 stored, 1 NXem"
    assert details.size == 3072
    assert details.created == "created by bob"  # no time in the cache: none invented
    # Beside the files, not beside a file of a sub-folder ("run/").
    assert details.readme == StoredText("raw-b", KEY + "README.txt")


def test_a_measurement_without_files_in_the_cache_has_no_readme_to_fetch():
    bare = {**MEASUREMENT, "files": []}
    assert details_of(TreeNode("measurement", "m1", "x", bare)).readme is None
