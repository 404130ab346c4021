"""Server configuration from the environment (12-factor). Secrets are held, never printed.

`Settings` is the plain frozen configuration the server runs on (the embedded server builds one
directly). `from_env` reads the `LAMEFAIR_*` variables through a typed model (pydantic-settings,
imported only then: the embedded server and the desktop's frozen build never need it), so that a
malformed variable stops `serve` and `migrate` with `SettingsError` naming the variable and what
was expected, instead of a traceback, or worse, a bound silently turned into none. An empty
variable counts as unset, as it always has.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///lamefair-catalog.sqlite"
    s3_endpoint: str = "http://127.0.0.1:8333"
    s3_public_endpoint: str | None = None  # the S3 name clients use in presigned URLs, if different
    s3_access_key: str = field(default="", repr=False)
    s3_secret_key: str = field(default="", repr=False)
    s3_region: str = "us-east-1"
    s3_ca_bundle: str | None = None
    oidc_issuer: str | None = None
    oidc_ca_bundle: str | None = None  # the CA of the identity provider, if a private one
    oidc_audience: str | None = None
    oidc_client_id: str | None = None
    oidc_scopes: str = "openid profile email groups offline_access"
    admin_group: str = "lamepi"
    operator_group: str = "lame-operators"
    # How long an opaque token's userinfo answer (its user and groups) is reused before the
    # provider is asked again: the longest a revoked or expired opaque token, or a removed group,
    # can still count. 0 asks every time. JWT access tokens are checked on every request.
    userinfo_cache_seconds: float = 60.0
    presign_ttl: int = 3600
    # Share links (domain/shares.py): the longest expiry a user may pick (seconds; the variable
    # also takes 30d, 12h, 90m), and the life of the presigned GET an opened link redirects to.
    share_max: int = 30 * 86400
    share_presign_ttl: int = 300
    # The address people reach this catalog at (https://catalog.lab.org), when a proxy in front
    # of it terminates TLS or answers under another name: share links are built on it. Unset,
    # they are built on the address the request came to (correct when nothing rewrites it).
    public_url: str | None = None
    raw_prefix: str = "lame-raw"
    mirror_prefix: str = "lame-ofed"
    multipart_threshold: int = 64 * 1024 * 1024
    # How long the server waits on a dependency that stops answering (seconds). A stopped S3
    # server still accepts connections and then says nothing, so reads need a bound of their own.
    s3_connect_timeout: float = 3.0
    s3_read_timeout: float = 10.0
    db_connect_timeout: float = 5.0  # PostgreSQL: open, handshake and sign in
    db_pool_timeout: float = 10.0  # wait for a free pooled connection before answering 503
    # After storage or the database stopped answering, requests that need it are refused (503)
    # for this long; then one request tries again.
    outage_cool_down: float = 5.0
    # The catalog's own FAIRmat verdict on stored derived files (domain/verdicts.py): larger
    # objects are not fetched (the temp folder must hold one), and a validator silent this long is killed.
    verdict_max_bytes: int = 2 * 1024**3
    verdict_timeout: float = 300.0
    # Embedded mode: one local user, admin, authenticated by a token kept in the data directory.
    local_token: str | None = field(default=None, repr=False)
    local_user: str = "local"

    @classmethod
    def from_env(cls) -> Settings:
        """From the `LAMEFAIR_*` variables (the field's name in capitals); `SettingsError`
        naming the variable when one is malformed."""
        from pydantic import ValidationError

        try:
            values = _environment_model()().model_dump(exclude_unset=True)
        except ValidationError as exc:
            raise SettingsError(_problems(exc)) from None
        if "oidc_issuer" in values:
            values["oidc_issuer"] = values["oidc_issuer"].rstrip("/") or None
        missing = [
            f"LAMEFAIR_{name.upper()}: expected a readable PEM file (got {values[name]!r})"
            for name in ("s3_ca_bundle", "oidc_ca_bundle")
            if values.get(name) and not os.path.isfile(values[name])
        ]
        if missing:
            raise SettingsError(missing)
        return cls(**values)

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)

    @property
    def embedded(self) -> bool:
        return self.local_token is not None


class SettingsError(ValueError):
    """Malformed `LAMEFAIR_*` variables; one line per variable, each naming it."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


# What each kind of value is called in messages; the checks themselves are in the model below.
_SECONDS = "expected a number of seconds"
_POSITIVE_SECONDS = "expected a positive number of seconds"
_EXPECTED = {
    "userinfo_cache_seconds": _SECONDS + " (0: ask every time)",
    "presign_ttl": "expected a number of seconds",
    "share_max": "expected a positive duration: seconds, or a number with d, h, m or s (30d)",
    "share_presign_ttl": "expected a positive number of seconds",
    "multipart_threshold": "expected a number of bytes",
    "public_url": "expected an http(s) address with no query, e.g. https://catalog.lab.org",
    "s3_connect_timeout": _POSITIVE_SECONDS,
    "s3_read_timeout": _POSITIVE_SECONDS,
    "db_connect_timeout": _POSITIVE_SECONDS,
    "db_pool_timeout": _POSITIVE_SECONDS,
    "outage_cool_down": _POSITIVE_SECONDS,
    "verdict_max_bytes": "expected a number of bytes",
    "verdict_timeout": _POSITIVE_SECONDS,
}
# Not read from the environment: the embedded server sets them itself.
_NOT_FROM_ENV = {"local_token", "local_user"}


def _environment_model():
    """The pydantic-settings model of the variables, made on first use (see the docstring)."""
    from typing import Annotated

    from pydantic import BeforeValidator, Field
    from pydantic_settings import BaseSettings, SettingsConfigDict

    positive = Annotated[float, Field(gt=0)]
    duration = Annotated[int, BeforeValidator(_duration_seconds), Field(gt=0)]

    class Environment(BaseSettings):
        # Names and defaults as documented in README: LAMEFAIR_ + the field in capitals.
        model_config = SettingsConfigDict(
            env_prefix="LAMEFAIR_", env_ignore_empty=True, extra="ignore", frozen=True
        )
        database_url: str = Settings.database_url
        s3_endpoint: str = Settings.s3_endpoint
        s3_public_endpoint: str | None = None
        s3_access_key: str = ""
        s3_secret_key: str = ""
        s3_region: str = Settings.s3_region
        s3_ca_bundle: str | None = None
        oidc_issuer: str | None = None
        oidc_ca_bundle: str | None = None
        oidc_audience: str | None = None
        oidc_client_id: str | None = None
        oidc_scopes: str = Settings.oidc_scopes
        admin_group: str = Settings.admin_group
        operator_group: str = Settings.operator_group
        userinfo_cache_seconds: Annotated[float, Field(ge=0)] = Settings.userinfo_cache_seconds
        presign_ttl: Annotated[int, Field(gt=0)] = Settings.presign_ttl
        share_max: duration = Settings.share_max
        share_presign_ttl: Annotated[int, Field(gt=0)] = Settings.share_presign_ttl
        public_url: Annotated[str | None, Field(pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")] = None
        raw_prefix: str = Settings.raw_prefix
        mirror_prefix: str = Settings.mirror_prefix
        multipart_threshold: Annotated[int, Field(gt=0)] = Settings.multipart_threshold
        # A typo must stop the server, not turn a bound into none.
        s3_connect_timeout: positive = Settings.s3_connect_timeout
        s3_read_timeout: positive = Settings.s3_read_timeout
        db_connect_timeout: positive = Settings.db_connect_timeout
        db_pool_timeout: positive = Settings.db_pool_timeout
        outage_cool_down: positive = Settings.outage_cool_down
        verdict_max_bytes: Annotated[int, Field(gt=0)] = Settings.verdict_max_bytes
        verdict_timeout: positive = Settings.verdict_timeout

    missing = {f.name for f in fields(Settings)} - set(Environment.model_fields) - _NOT_FROM_ENV
    assert not missing, f"Settings fields with no variable: {missing}"
    return Environment


_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def _duration_seconds(value: object) -> object:
    """ "30d", "12h", "90m", "45s" as seconds; anything else is left to the int check."""
    if isinstance(value, str) and value[-1:].lower() in _UNITS and value[:-1].strip().isdigit():
        return int(value[:-1]) * _UNITS[value[-1].lower()]
    return value


def _problems(error) -> list[str]:
    lines = []
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]) if item["loc"] else ""
        expected = _EXPECTED.get(name) or item["msg"].replace("Input should be", "expected")
        lines.append(f"LAMEFAIR_{name.upper()}: {expected} (got {item.get('input')!r})")
    return lines
