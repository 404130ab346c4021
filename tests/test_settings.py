"""Settings on disk: changes made at the same moment (two uploads started together remember
their instrument pairs) all survive; a file that cannot be used stops what needs it, naming the
file and the field, and is never overwritten; older files are migrated; keys from a newer version
are kept, unknown keys of this version are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from lamefair_desktop.cli.exit_codes import EXIT_USAGE
from lamefair_desktop.home.settings import SCHEMA_VERSION, Settings, SettingsError

LAMEFAIR = str(Path(sys.executable).parent / "lamefair")


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
    newer = {"server_url": "https://c.example", "future": 1, "schema_version": SCHEMA_VERSION + 1}
    Settings.path().write_text(json.dumps(newer))
    Settings.update(lambda s: replace(s, cache_size_mb=100))
    saved = json.loads(Settings.path().read_text())
    assert saved["future"] == 1
    assert saved["server_url"] == "https://c.example"
    assert saved["cache_size_mb"] == 100
    assert saved["schema_version"] == SCHEMA_VERSION + 1  # still the newer app's format


def test_a_version_1_file_loads_and_is_migrated():
    # As today's app writes it (every field, schema_version 1), with an empty string that
    # version 1 read as "not set".
    v1 = {
        "server_url": "https://catalog.lab.example",
        "ca_bundle": None,
        "oidc_client_secret": None,
        "part_concurrency": 8,
        "file_concurrency": 3,
        "cache_dir": "",
        "cache_size_mb": 4096,
        "pairs_by_experiment": {"42": "SEM_FEI"},
        "schema_version": 1,
    }
    Settings.path().write_text(json.dumps(v1, indent=2))
    settings = Settings.load()
    assert settings.server_url == "https://catalog.lab.example"
    assert (settings.part_concurrency, settings.file_concurrency) == (8, 3)
    assert settings.cache_dir is None
    assert settings.pairs_by_experiment == {"42": "SEM_FEI"}
    settings.save()
    saved = json.loads(Settings.path().read_text())
    assert saved["schema_version"] == SCHEMA_VERSION == 4
    assert saved["cache_dir"] is None
    assert Settings.load() == settings


@pytest.mark.parametrize(
    ("content", "where", "got"),
    [
        ('{"part_concurrency": "four", "schema_version": 2}', "part_concurrency", "'four'"),
        ('{"part_concurrency": 0}', "part_concurrency", "0"),
        ('{"server_url": "catalog.lab.example"}', "server_url", "'catalog.lab.example'"),
        ('{"server_url": ""}', None, None),  # version 1: "" meant the local catalog, and still does
        ('{"server_url": "", "schema_version": 2}', "server_url", "''"),
        ('{"server_ur": "https://c.example", "schema_version": 2}', "server_ur", None),
        ('{"server_ur": "https://c.example"}', "server_ur", None),  # a typo in a v1 file too
        ('{"server_url": "https://c.example",\n "part_concurrency": 4,}', "line 2", None),
    ],
)
def test_a_file_that_cannot_be_used_is_refused_naming_the_field(content, where, got):
    Settings.path().write_text(content)
    if where is None:
        assert Settings.load().server_url is None
        return
    with pytest.raises(SettingsError) as raised:
        Settings.load()
    message = str(raised.value)
    assert message.startswith(f"{Settings.path()}: {where}")
    assert "expected" in message or "unknown key" in message
    if got is not None:
        assert f"(got {got})" in message


def test_save_refuses_while_the_file_on_disk_is_broken():
    broken = b'{"server_url": "https://catalog.lab.example"\n'
    Settings.path().write_bytes(broken)
    with pytest.raises(SettingsError):
        Settings().save()
    with pytest.raises(SettingsError):
        Settings.update(lambda s: replace(s, cache_size_mb=100))
    assert Settings.path().read_bytes() == broken


def _lamefair(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAMEFAIR_HTTP_ATTEMPTS": "1"}
    env.pop("LAMEFAIR_SERVER", None)
    return subprocess.run([LAMEFAIR, *args], capture_output=True, text=True, timeout=120, env=env)


def test_cli_stops_on_a_broken_file_and_leaves_it_as_it_is(lamefair_home):
    broken = b'{\n  "server_url": "https://catalog.lab.example"\n  "part_concurrency": 4\n}\n'
    path = Settings.path()
    path.write_bytes(broken)
    result = _lamefair("ls")
    assert result.returncode == EXIT_USAGE, result.stderr
    assert result.stderr.startswith(f"error: {path}: line 3, column 3: expected JSON")
    assert result.stderr.rstrip().endswith("; fix or delete the file")
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == broken
    # It did not fall back to the local catalog.
    assert not (lamefair_home / "data" / "catalog").exists()


def test_cli_refuses_a_value_of_the_wrong_type_naming_the_field(lamefair_home):
    path = Settings.path()
    path.write_text('{"server_url": "https://catalog.lab.example", "part_concurrency": "four"}')
    result = _lamefair("ls")
    assert result.returncode == EXIT_USAGE, result.stderr
    assert result.stderr == (
        f"error: {path}: part_concurrency: expected a valid integer (got 'four'); "
        "fix or delete the file\n"
    )
    assert not (lamefair_home / "data" / "catalog").exists()


def test_a_version_2_file_loads_without_a_default_pair_or_zone_and_a_bad_zone_is_named():
    v2 = {"server_url": None, "pairs_by_experiment": {"42": "SEM_FEI"}, "schema_version": 2}
    Settings.path().write_text(json.dumps(v2))
    settings = Settings.load()
    assert (settings.default_pair, settings.default_timezone) == (None, None)
    assert settings.timezones_by_experiment == {}
    assert settings.schema_version == SCHEMA_VERSION

    Settings.path().write_text(json.dumps({"default_timezone": "Europe/Rom", "schema_version": 3}))
    with pytest.raises(SettingsError) as refused:
        Settings.load()
    assert str(refused.value) == (
        f"{Settings.path()}: default_timezone: unknown time zone 'Europe/Rom' (expected an IANA "
        "name such as Europe/Berlin) (got 'Europe/Rom')"
    )


def test_a_version_3_file_keeps_its_fiji_path_and_is_saved_as_version_4():
    """Version 4 adds napari_path; a version-3 file (some hold fiji_path) loads as it was."""
    Settings.path().write_text(json.dumps({"fiji_path": "/opt/Fiji.app", "schema_version": 3}))
    settings = Settings.load()
    assert (settings.fiji_path, settings.napari_path) == ("/opt/Fiji.app", None)
    settings.save()
    saved = json.loads(Settings.path().read_text())
    assert (saved["schema_version"], saved["fiji_path"], saved["napari_path"]) == (
        4,
        "/opt/Fiji.app",
        None,
    )
    Settings.path().write_text(json.dumps({"napari_path": "", "schema_version": 4}))
    with pytest.raises(SettingsError, match="napari_path: expected null"):
        Settings.load()
