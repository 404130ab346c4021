"""`lamefair --self-test` names what is broken. (That it passes on a whole installation is checked
on the frozen build by `make package-check`, which `make test` runs under CI=true.)"""

from __future__ import annotations

import json

from lamefair_desktop.nexus import mapping


def test_a_broken_mapping_fails_the_self_test_and_is_named(qapp, tmp_path, monkeypatch, capsys):
    from lamefair_desktop.ui import self_test

    folder = tmp_path / "mappings"
    folder.mkdir()
    for path in mapping.mappings_dir().glob("*.json"):
        (folder / path.name).write_text(path.read_text())
    broken = json.loads((folder / "SEM_FEI.json").read_text())
    broken["entries"] = "not a list"
    (folder / "SEM_FEI.json").write_text(json.dumps(broken))
    monkeypatch.setattr(mapping, "mappings_dir", lambda: folder)
    mapping.default_registry.cache_clear()

    try:
        assert self_test.main() == 1
    finally:
        mapping.default_registry.cache_clear()
    out = capsys.readouterr().out
    assert "FAIL  mappings load" in out
    assert "SEM_FEI.json" in out
    assert "PASS  local stack and engines start and stop" in out  # the other checks still ran
    assert "FAIL  TIFF converts to valid NXem" in out  # conversion needs the mappings too
    assert "2 of 5 checks failed" in out
