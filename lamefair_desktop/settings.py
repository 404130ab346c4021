"""User settings: a typed model saved as JSON in the config folder, with a schema version.

Secrets never live here (tokens are in the keyring). Unknown keys from a newer version are kept
as they are, so an older app does not erase them.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from lamefair_desktop import paths

SCHEMA_VERSION = 1

_changing = threading.Lock()


@dataclass
class Settings:
    server_url: str | None = None  # None: the embedded local catalog
    ca_bundle: str | None = None
    # Only for identity providers that insist on a confidential client for desktop apps; a
    # native app's "secret" is not secret (RFC 8252), so it may live here.
    oidc_client_secret: str | None = None
    part_concurrency: int = 4
    file_concurrency: int = 2
    cache_dir: str | None = None
    cache_size_mb: int = 2048
    # The instrument pair last used per experiment id: the upload dialog proposes it again.
    pairs_by_experiment: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @classmethod
    def path(cls) -> Path:
        return paths.config_dir() / "settings.json"

    @classmethod
    def load(cls) -> Settings:
        try:
            raw = json.loads(cls.path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in raw.items() if k in known}
        extra = {k: v for k, v in raw.items() if k not in known and k != "schema_version"}
        return cls(**values, extra=extra)

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
        """Atomically: a temporary file of its own in the same folder, then a rename."""
        data = {k: v for k, v in asdict(self).items() if k != "extra"}
        data.update(self.extra)
        data["schema_version"] = SCHEMA_VERSION
        path = self.path()
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream, indent=2)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
