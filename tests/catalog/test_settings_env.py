"""The server's LAMEFAIR_* variables: names and defaults as documented, and a malformed one
stops `serve` and `migrate` with a line naming it, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from lamefair_catalog.settings import Settings, SettingsError

CATALOG = str(Path(sys.executable).parent / "lamefair-catalog")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("LAMEFAIR_") and name != "LAMEFAIR_HOME":
            monkeypatch.delenv(name)
    return monkeypatch


def test_nothing_set_gives_the_documented_defaults(clean_env):
    assert Settings.from_env() == Settings()


def test_every_variable_reaches_its_field(clean_env, tmp_path):
    numbers = {
        "userinfo_cache_seconds": ("0", 0.0),
        "presign_ttl": ("120", 120),
        "share_max": ("2d", 2 * 86400),  # a duration with its unit, or seconds
        "share_presign_ttl": ("60", 60),
        "multipart_threshold": ("1048576", 1048576),
        "s3_connect_timeout": ("1.5", 1.5),
        "s3_read_timeout": ("2", 2.0),
        "db_connect_timeout": ("3", 3.0),
        "db_pool_timeout": ("4", 4.0),
        "outage_cool_down": ("0.5", 0.5),
        "verdict_max_bytes": ("1000", 1000),
        "verdict_timeout": ("60", 60.0),
        "public_url": (
            "https://catalog.lab.example/lamefair",
            "https://catalog.lab.example/lamefair",
        ),
    }
    expected = {}
    for f in fields(Settings):
        if f.name in ("local_token", "local_user"):
            continue
        raw, value = numbers.get(f.name, (f"value-of-{f.name}", f"value-of-{f.name}"))
        if f.name.endswith("_ca_bundle"):  # must name a file that is there
            (tmp_path / f.name).write_text("PEM")
            raw = value = str(tmp_path / f.name)
        clean_env.setenv(f"LAMEFAIR_{f.name.upper()}", raw)
        expected[f.name] = value
    clean_env.setenv("LAMEFAIR_OIDC_ISSUER", "https://id.example/realms/lab/")
    expected["oidc_issuer"] = "https://id.example/realms/lab"
    clean_env.setenv("LAMEFAIR_PRESIGN_TTL", "")  # empty counts as unset
    expected["presign_ttl"] = 3600
    settings = Settings.from_env()
    assert {name: getattr(settings, name) for name in expected} == expected


def test_malformed_variables_are_all_named(clean_env):
    clean_env.setenv("LAMEFAIR_PRESIGN_TTL", "1h")
    clean_env.setenv("LAMEFAIR_S3_READ_TIMEOUT", "0")
    clean_env.setenv("LAMEFAIR_SHARE_MAX", "a month")
    clean_env.setenv("LAMEFAIR_PUBLIC_URL", "catalog.lab.example")  # no scheme: links would break
    with pytest.raises(SettingsError) as raised:
        Settings.from_env()
    assert raised.value.lines == [
        "LAMEFAIR_PRESIGN_TTL: expected a number of seconds (got '1h')",
        "LAMEFAIR_SHARE_MAX: expected a positive duration: seconds, or a number with d, h, m "
        "or s (30d) (got 'a month')",
        "LAMEFAIR_PUBLIC_URL: expected an http(s) address with no query, e.g. "
        "https://catalog.lab.org (got 'catalog.lab.example')",
        "LAMEFAIR_S3_READ_TIMEOUT: expected a positive number of seconds (got '0')",
    ]


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_serve_and_migrate_stop_on_a_malformed_variable(command, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    env["LAMEFAIR_DATABASE_URL"] = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    env["LAMEFAIR_PRESIGN_TTL"] = "1h"
    result = subprocess.run(
        [CATALOG, command], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: LAMEFAIR_PRESIGN_TTL: expected a number of seconds (got '1h')"]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "catalog.sqlite").exists()  # nothing was done


def test_a_ca_bundle_that_is_not_there_is_named(clean_env, tmp_path):
    clean_env.setenv("LAMEFAIR_OIDC_CA_BUNDLE", str(tmp_path / "lab-ca.pem"))
    with pytest.raises(SettingsError) as raised:
        Settings.from_env()
    assert raised.value.lines == [
        f"LAMEFAIR_OIDC_CA_BUNDLE: expected a readable PEM file (got '{tmp_path / 'lab-ca.pem'}')"
    ]
