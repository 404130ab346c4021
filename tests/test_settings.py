"""Settings on disk: changes made at the same moment (two uploads started together remember
their instrument pairs) all survive, and keys from a newer version are kept."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

from lamefair_desktop.settings import Settings


def test_concurrent_changes_all_survive():
    def remember(experiment: str) -> None:
        for _ in range(20):
            Settings.update(
                lambda s: replace(
                    s, pairs_by_experiment={**s.pairs_by_experiment, experiment: "SEM_FEI"}
                )
            )

    threads = [threading.Thread(target=remember, args=(f"exp-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(Settings.load().pairs_by_experiment) == [f"exp-{n}" for n in range(8)]
    # No temporary files left behind next to settings.json.
    assert [p.name for p in Settings.path().parent.iterdir()] == ["settings.json"]


def test_keys_of_a_newer_version_are_kept():
    Settings.path().write_text(json.dumps({"server_url": "https://c.example", "future": 1}))
    Settings.update(lambda s: replace(s, cache_size_mb=100))
    saved = json.loads(Settings.path().read_text())
    assert saved["future"] == 1
    assert saved["server_url"] == "https://c.example"
    assert saved["cache_size_mb"] == 100
