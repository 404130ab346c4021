"""User settings: a typed model saved as JSON in the config folder, with a schema version.

Secrets never live here (tokens are in the keyring).

A settings file that cannot be read as it was meant stops whatever needs it, with a message naming
the file, the field and what was expected (`SettingsError`): guessing is what hurt. A file with one
syntax error used to read as "no settings", so the app dropped the lab's `server_url` and uploaded
to its own local catalog; `"part_concurrency": "four"` was accepted; and the next save then
overwrote the admin's file with the defaults. Hence:

- Every field is checked (pydantic, strict: "4" is not 4) when the file is read.
- `save` refuses while the file on disk does not load, so a broken file is never replaced by the
  defaults; it is fixed (or deleted) by a person who sees the message.
- Older files are brought up to date by `MIGRATIONS`, one function per version step, in memory;
  the file on disk is rewritten in the new format only by the next save.
- Keys this version does not know are refused, naming them, when the file says it is of this
  version or an older one: there they are typos (`"server_ur"` would silently mean the local
  catalog). A file from a newer lamefair (higher `schema_version`) keeps them as they are, with a
  warning in the log, so an older app running next to a newer one does not erase them.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, field, fields
from pathlib import Path
from typing import Annotated, Any

from pydantic import ConfigDict, Field, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from lamefair_desktop.home import paths
from lamefair_desktop.home.time_zones import zone_info

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4

_changing = threading.RLock()  # update() holds it across its save()


class SettingsError(ValueError):
    """The settings file cannot be used as it stands; `problems` are (field, expected, got)."""

    def __init__(self, path: Path, problems: list[tuple[str, str, object]]) -> None:
        self.path = path
        self.problems = problems
        described = "; ".join(
            f"{where}: {expected}" + ("" if got is _NOTHING else f" (got {got!r})")
            for where, expected, got in problems
        )
        super().__init__(f"{path}: {described}")


_NOTHING = object()  # a problem with no value to show (a syntax error, an unknown key)


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 read an empty string as "not set" (an empty `server_url` meant the local
    catalog). Version 2 says so with null only, and refuses "", so that the local catalog is
    never chosen by accident; existing files keep their meaning."""
    optional_text = ("server_url", "ca_bundle", "oidc_client_secret", "cache_dir")
    return {k: (None if k in optional_text and v == "" else v) for k, v in data.items()}


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 adds this computer's default instrument pair and time zone, and the zone last
    used per experiment (all unset in older files). The number still moves, so that a version-2
    app keeps these keys of a version-3 file instead of refusing them as typos."""
    return data


def _v3_to_v4(data: dict[str, Any]) -> dict[str, Any]:
    """Version 4 adds where napari is (`napari_path`) beside where Fiji is (`fiji_path`, which
    some version-3 files already hold); unset in older files. The number moves so that an older
    app keeps both keys of a version-4 file instead of refusing them as typos."""
    return data


# MIGRATIONS[n - 1] turns a version-n dictionary into a version-(n + 1) one.
MIGRATIONS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [_v1_to_v2, _v2_to_v3, _v3_to_v4]
assert len(MIGRATIONS) == SCHEMA_VERSION - 1

Count = Annotated[int, Field(strict=True, ge=1, le=32)]  # the settings dialog's range


@dataclass(config=ConfigDict(strict=True, validate_assignment=True))
class Settings:
    server_url: str | None = None  # None: the embedded local catalog
    ca_bundle: str | None = None
    # Only for identity providers that insist on a confidential client for desktop apps; a
    # native app's "secret" is not secret (RFC 8252), so it may live here.
    oidc_client_secret: str | None = None
    part_concurrency: Count = 4
    file_concurrency: Count = 2
    cache_dir: str | None = None
    cache_size_mb: Annotated[int, Field(strict=True, ge=1)] = 2048
    # The instrument pair last used per experiment id: the upload dialog proposes it again.
    pairs_by_experiment: dict[str, str] = field(default_factory=dict)
    # The instrument clock's time zone (IANA) last used per experiment id, likewise.
    timezones_by_experiment: dict[str, str] = field(default_factory=dict)
    # This computer's defaults: the pair proposed where none was remembered, and the zone of its
    # instruments' clocks where neither the upload, the watch rule nor the pair names one
    # (None: the system's zone).
    default_pair: str | None = None
    default_timezone: str | None = None
    # Fiji's launcher (or its Fiji.app folder) when it is not on PATH: the preview's "Open in Fiji".
    fiji_path: str | None = None
    # The napari command (e.g. the bin/napari of the environment it is in) when not on PATH.
    napari_path: str | None = None
    # Keys of a newer version's file, written back as they were (never from this version's).
    extra: dict[str, Any] = field(default_factory=dict)
    # The file's version when it is newer than ours: saved as it was (its keys are kept).
    schema_version: int = SCHEMA_VERSION

    @field_validator("server_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(
                "expected null (the local catalog) or a URL starting with https:// or http://"
            )
        return value

    @field_validator(
        "ca_bundle", "oidc_client_secret", "cache_dir", "default_pair", "fiji_path", "napari_path"
    )
    @classmethod
    def _not_empty(cls, value: str | None) -> str | None:
        if value == "":
            raise ValueError("expected null (not set) or a non-empty string")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone_info(value)  # ValueError: names the value and the expected form
        return value

    @field_validator("timezones_by_experiment")
    @classmethod
    def _zones(cls, value: dict[str, str]) -> dict[str, str]:
        for zone in value.values():
            zone_info(zone)
        return value

    @classmethod
    def path(cls) -> Path:
        return paths.config_dir() / "settings.json"

    @classmethod
    def load(cls) -> Settings:
        """The settings in the file, or the defaults when there is no file; `SettingsError`
        when the file is there but cannot be used."""
        path = cls.path()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            problem = ("file", f"expected a readable file ({exc.strerror})", _NOTHING)
            raise SettingsError(path, [problem]) from None
        return cls.from_json(text, path)

    @classmethod
    def from_json(cls, text: str, path: Path) -> Settings:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            where = f"line {exc.lineno}, column {exc.colno}" if hasattr(exc, "lineno") else "file"
            raise SettingsError(path, [(where, f"expected JSON: {exc.msg}", _NOTHING)]) from None
        if not isinstance(raw, dict):
            raise SettingsError(path, [("file", "expected a JSON object", raw)])
        version = raw.pop("schema_version", 1)  # version 1 files written by hand may lack it
        if type(version) is not int or version < 1:
            raise SettingsError(path, [("schema_version", "expected a whole number ≥ 1", version)])
        for migrate in MIGRATIONS[version - 1 :]:
            raw = migrate(raw)
        known = {f.name for f in fields(cls)} - {"extra", "schema_version"}
        unknown = sorted(set(raw) - known)
        extra = {}
        if unknown and version <= SCHEMA_VERSION:
            raise SettingsError(
                path, [(key, "unknown key: not a lamefair setting", _NOTHING) for key in unknown]
            )
        if unknown:
            log.warning(
                "%s is from a newer lamefair (schema version %d); keeping keys it does not know: "
                "%s",
                path,
                version,
                ", ".join(unknown),
            )
            extra = {key: raw.pop(key) for key in unknown}
        try:
            return cls(**raw, extra=extra, schema_version=max(version, SCHEMA_VERSION))
        except ValidationError as exc:
            raise SettingsError(path, _problems(exc)) from None

    def cache_path(self) -> Path:
        """Where previews of remote files and derived NXem files are kept."""
        if self.cache_dir:
            path = Path(self.cache_dir).expanduser()
            path.mkdir(parents=True, exist_ok=True)
            return path
        return paths.cache_dir()

    @classmethod
    def update(cls, change: Callable[[Settings], Settings]) -> Settings:
        """Read, change and save as one step: two uploads started at once both keep their
        remembered pair (the app is the only writer; its threads take turns here)."""
        with _changing:
            settings = change(cls.load())
            settings.save()
            return settings

    def save(self) -> None:
        """Atomically: a temporary file of its own in the same folder, then a rename. Refused
        (`SettingsError`) while the file on disk does not load: it is someone's to fix, and
        replacing it would lose what they meant (the lab's server, for one)."""
        with _changing:
            self.load()  # raises if the file there is broken
            data = {k: v for k, v in asdict(self).items() if k not in ("extra", "schema_version")}
            data.update(self.extra)
            data["schema_version"] = self.schema_version
            path = self.path()
            handle, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=".settings-", suffix=".tmp"
            )
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(data, stream, indent=2)
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise


def _problems(error: ValidationError) -> list[tuple[str, str, object]]:
    """pydantic's errors in the words of the message: field, what was expected, what was got."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "file"
        message = item["msg"].removeprefix("Value error, ")
        message = message.replace("Input should be", "expected")
        if item["type"] == "missing":
            message = "expected a value"
        problems.append((where, message, item.get("input", _NOTHING)))
    return problems
