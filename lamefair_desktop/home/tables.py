"""Every table of the local database, in one module below all the code that uses them.

The tables used to live next to their code (sync, transfer queues, watch folders) and local_db.py
imported all of those to register them: six modules importing each other in a circle. Here they
import nothing from lamefair_desktop, so local_db.py and catalog/identity.py (which re-files the
rows of every table) need no upward import. Which module owns which table is said on each class.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lamefair_catalog.shared import GENERIC_PAIR


class LocalBase(DeclarativeBase):
    pass


def plain(cls, row):
    """A table row as the frozen dataclass `cls` whose fields it shares by name (what crosses
    threads is a plain value, never an ORM object)."""
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- catalog/sync.py -----------------------------------------------------------------------------


class CachedEntity(LocalBase):
    __tablename__ = "cache_entities"
    server: Mapped[str] = mapped_column(String(500), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(36), index=True, nullable=True)
    name: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON)
    pending: Mapped[int] = mapped_column(Integer, default=0)  # 1: created offline, not sent yet


class SyncState(LocalBase):
    __tablename__ = "sync_state"
    server: Mapped[str] = mapped_column(String(500), primary_key=True)
    last_rev: Mapped[int] = mapped_column(Integer, default=0)


class OutboxRow(LocalBase):
    __tablename__ = "outbox"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    server: Mapped[str] = mapped_column(String(500), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, conflict
    error: Mapped[str] = mapped_column(Text, default="")
    field: Mapped[str] = mapped_column(String(64), default="")
    existing_id: Mapped[str] = mapped_column(String(36), default="")
    created_at: Mapped[str] = mapped_column(String(40))


# --- catalog/identity.py -------------------------------------------------------------------------


class CatalogAddress(LocalBase):
    """The id a catalog last reported at a URL (used when it cannot be asked)."""

    __tablename__ = "catalog_addresses"
    url: Mapped[str] = mapped_column(String(500), primary_key=True)
    catalog_id: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[str] = mapped_column(String(40))


# --- transfer/queue.py ---------------------------------------------------------------------------


class UploadRow(LocalBase):
    __tablename__ = "uploads"
    file_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)  # FIFO order of registration
    measurement_id: Mapped[str] = mapped_column(String(36), index=True)
    server: Mapped[str] = mapped_column(String(500))
    local_path: Mapped[str] = mapped_column(Text)
    rel_path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    upload_id: Mapped[str | None] = mapped_column(String(512), nullable=True)
    part_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    part_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[str] = mapped_column(String(40), default=now)


class UploadPartRow(LocalBase):
    __tablename__ = "upload_parts"
    file_id: Mapped[str] = mapped_column(
        ForeignKey("uploads.file_id", ondelete="CASCADE"), primary_key=True
    )
    upload_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    etag: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)


# --- transfer/claims.py --------------------------------------------------------------------------


class ClaimRow(LocalBase):
    __tablename__ = "upload_claims"
    # No foreign key: a claim may outlive a forgotten row for a moment, and must not cascade.
    file_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(300))
    lease_until: Mapped[float] = mapped_column(Float)


# --- transfer/derived.py -------------------------------------------------------------------------


class DerivedRow(LocalBase):
    __tablename__ = "derived_jobs"
    file_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    measurement_id: Mapped[str] = mapped_column(String(36), index=True)
    server: Mapped[str] = mapped_column(String(500))
    rel_path: Mapped[str] = mapped_column(Text)
    pair: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    output: Mapped[str] = mapped_column(Text, default="")
    valid: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    validator: Mapped[str] = mapped_column(String(16), default="")
    report: Mapped[str] = mapped_column(Text, default="")
    lacking: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[str] = mapped_column(String(40), default=now)
    # The catalog's FAIRmat verdict on the stored file, learned from the change feed (sync.py).
    server_valid: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    server_validator: Mapped[str] = mapped_column(String(64), default="")
    server_report: Mapped[str] = mapped_column(Text, default="")
    # The instrument clock's zone for this conversion and why (None: the pair's, else this
    # computer's default), and the SHA-256 of the derived file made here last.
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    timezone_reason: Mapped[str] = mapped_column(Text, default="")
    output_sha256: Mapped[str] = mapped_column(String(64), default="")


# --- watch/ --------------------------------------------------------------------------------------


class WatchRuleRow(LocalBase):
    __tablename__ = "watch_rules"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    server: Mapped[str] = mapped_column(String(500), index=True)
    folder: Mapped[str] = mapped_column(Text)
    experiment_id: Mapped[str] = mapped_column(String(36), default="")  # "" = follow selection
    pair: Mapped[str] = mapped_column(String(64), default=GENERIC_PAIR)
    operator: Mapped[str] = mapped_column(String(200), default="")
    include: Mapped[list] = mapped_column(JSON, default=list)
    exclude: Mapped[list] = mapped_column(JSON, default=list)
    quiet_seconds: Mapped[float] = mapped_column(Float, default=5.0)
    polling: Mapped[bool] = mapped_column(Boolean, default=False)
    convert: Mapped[bool] = mapped_column(Boolean, default=True)
    free_space: Mapped[bool] = mapped_column(Boolean, default=False)
    done_marker: Mapped[str] = mapped_column(String(100), default="")  # e.g. "{name}.done"
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[str] = mapped_column(String(40), default=now)
    # IANA zone of the instrument's clock; None: the pair's, else this computer's default.
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)


class LedgerRow(LocalBase):
    __tablename__ = "watch_ledger"
    rule_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    rel_path: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    measurement_id: Mapped[str] = mapped_column(String(36))
    file_id: Mapped[str] = mapped_column(String(36))
    # registering -> queued -> stored (-> freed, or kept: free_space found a reason not to)
    # renamed; failed
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[str] = mapped_column(String(40), default=now)
