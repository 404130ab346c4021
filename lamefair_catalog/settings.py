"""Server configuration from the environment (12-factor). Secrets are held, never printed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _seconds(name: str, default: float) -> float:
    """A positive number of seconds; a typo must stop the server, not turn a bound into none."""
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {raw!r}.")
    return value


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
    # The catalog's own FAIRmat verdict on stored derived files (verdicts.py): larger objects are
    # not fetched (the temp folder must hold one), and a validator silent this long is killed.
    verdict_max_bytes: int = 2 * 1024**3
    verdict_timeout: float = 300.0
    # Embedded mode: one local user, admin, authenticated by a token kept in the data directory.
    local_token: str | None = field(default=None, repr=False)
    local_user: str = "local"

    @classmethod
    def from_env(cls) -> Settings:
        defaults = cls()
        return cls(
            database_url=_env("LAMEFAIR_DATABASE_URL", defaults.database_url),
            s3_endpoint=_env("LAMEFAIR_S3_ENDPOINT", defaults.s3_endpoint),
            s3_public_endpoint=_env("LAMEFAIR_S3_PUBLIC_ENDPOINT"),
            s3_access_key=_env("LAMEFAIR_S3_ACCESS_KEY", ""),
            s3_secret_key=_env("LAMEFAIR_S3_SECRET_KEY", ""),
            s3_region=_env("LAMEFAIR_S3_REGION", defaults.s3_region),
            s3_ca_bundle=_env("LAMEFAIR_S3_CA_BUNDLE"),
            oidc_issuer=(_env("LAMEFAIR_OIDC_ISSUER") or "").rstrip("/") or None,
            oidc_ca_bundle=_env("LAMEFAIR_OIDC_CA_BUNDLE"),
            oidc_audience=_env("LAMEFAIR_OIDC_AUDIENCE"),
            oidc_client_id=_env("LAMEFAIR_OIDC_CLIENT_ID"),
            oidc_scopes=_env("LAMEFAIR_OIDC_SCOPES", defaults.oidc_scopes),
            admin_group=_env("LAMEFAIR_ADMIN_GROUP", defaults.admin_group),
            operator_group=_env("LAMEFAIR_OPERATOR_GROUP", defaults.operator_group),
            userinfo_cache_seconds=float(
                _env("LAMEFAIR_USERINFO_CACHE_SECONDS", str(defaults.userinfo_cache_seconds))
            ),
            presign_ttl=int(_env("LAMEFAIR_PRESIGN_TTL", str(defaults.presign_ttl))),
            raw_prefix=_env("LAMEFAIR_RAW_PREFIX", defaults.raw_prefix),
            mirror_prefix=_env("LAMEFAIR_MIRROR_PREFIX", defaults.mirror_prefix),
            multipart_threshold=int(
                _env("LAMEFAIR_MULTIPART_THRESHOLD", str(defaults.multipart_threshold))
            ),
            s3_connect_timeout=_seconds("LAMEFAIR_S3_CONNECT_TIMEOUT", defaults.s3_connect_timeout),
            s3_read_timeout=_seconds("LAMEFAIR_S3_READ_TIMEOUT", defaults.s3_read_timeout),
            db_connect_timeout=_seconds("LAMEFAIR_DB_CONNECT_TIMEOUT", defaults.db_connect_timeout),
            db_pool_timeout=_seconds("LAMEFAIR_DB_POOL_TIMEOUT", defaults.db_pool_timeout),
            outage_cool_down=_seconds("LAMEFAIR_OUTAGE_COOL_DOWN", defaults.outage_cool_down),
            verdict_max_bytes=int(
                _env("LAMEFAIR_VERDICT_MAX_BYTES", str(defaults.verdict_max_bytes))
            ),
            verdict_timeout=_seconds("LAMEFAIR_VERDICT_TIMEOUT", defaults.verdict_timeout),
        )

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)

    @property
    def embedded(self) -> bool:
        return self.local_token is not None
