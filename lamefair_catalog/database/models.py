"""Database tables of the catalog (SQLAlchemy 2). SQLite embedded, PostgreSQL in deployments.

Text column lengths come from the constants in shared.py, which the API's field types use too: a
value the API accepts always fits its column (PostgreSQL refuses, with an error, what does not).

Uniqueness lives in the database (unique constraints), not in read-then-write checks, so two racing
requests cannot both win: the loser's IntegrityError becomes a 409.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    func,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from lamefair_catalog.shared import (
    FORM_LENGTH,
    INSTRUMENT_PAIR_LENGTH,
    NAME_LENGTH,
    NUMBER_LENGTH,
    TITLE_LENGTH,
)


class UTCDateTime(TypeDecorator):
    """Timestamps stored as naive UTC and handed back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")


class Proposal(Base):
    __tablename__ = "proposals"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_proposal_number"),
        UniqueConstraint("project_id", "number_slug", name="uq_proposal_number_slug"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    number: Mapped[str] = mapped_column(String(NUMBER_LENGTH))
    number_slug: Mapped[str] = mapped_column(String(64))
    pi_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    date: Mapped[date | None] = mapped_column(Date, nullable=True)
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    raw_bucket: Mapped[str] = mapped_column(String(63), unique=True)
    mirror_bucket: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    project: Mapped[Project] = relationship(lazy="joined")
    members: Mapped[list[ProposalMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ProposalMember.position"
    )


class ProposalMember(Base):
    """A username or group name allowed to read a proposal (one row each, so access is a join)."""

    __tablename__ = "proposal_members"
    proposal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("proposals.id"), primary_key=True)
    principal: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


def word_index(name: str, column: str) -> Index:
    """A trigram index on lower(column), for the search's `q` (LIKE '%word%', lowercased): a word
    found among 100,000 measurements' descriptions by the index instead of reading them all
    (28 ms -> 0.3 ms). PostgreSQL only (pg_trgm, migration 0011); SQLite scans its small tables."""
    expression = func.lower(literal_column(column)).label(f"{column}_lower")
    return Index(
        name,
        expression,
        postgresql_using="gin",
        postgresql_ops={f"{column}_lower": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")


class Sample(Base):
    __tablename__ = "samples"
    __table_args__ = (
        UniqueConstraint("proposal_id", "slug", name="uq_sample_slug"),
        word_index("ix_samples_name_words", "name"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    proposal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("proposals.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    slug: Mapped[str] = mapped_column(String(64))
    identifier: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    preparation_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    atom_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    physical_form: Mapped[str] = mapped_column(String(FORM_LENGTH), default="")
    is_simulation: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")


class Experiment(Base):
    __tablename__ = "experiments"
    __table_args__ = (
        UniqueConstraint("sample_id", "slug", name="uq_experiment_slug"),
        word_index("ix_experiments_name_words", "name"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    sample_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("samples.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    slug: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    start_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")


class Measurement(Base):
    __tablename__ = "measurements"
    __table_args__ = (word_index("ix_measurements_description_words", "description"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    experiment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experiments.id"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    instrument_pair: Mapped[str] = mapped_column(String(INSTRUMENT_PAIR_LENGTH))
    operator: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    files: Mapped[list[File]] = relationship(
        back_populates="measurement", lazy="selectin", order_by="File.path"
    )


class File(Base):
    __tablename__ = "files"
    __table_args__ = (UniqueConstraint("measurement_id", "path", name="uq_file_path"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    measurement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("measurements.id"), index=True)
    path: Mapped[str] = mapped_column(String(1024))
    key: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    # "" until the uploading client declares it (single PUT: at its plan; multipart: on
    # completion, hashed while sending); a stored file always has one. Not NULL: making the
    # column nullable would rebuild `files` on SQLite, which its foreign keys forbid in place.
    sha256: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    upload_id: Mapped[str | None] = mapped_column(String(512), nullable=True)
    part_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    measurement: Mapped[Measurement] = relationship(back_populates="files")
    derived: Mapped[list[DerivedFile]] = relationship(lazy="selectin")


class DerivedFile(Base):
    __tablename__ = "derived_files"
    # One object, one record: two raw files must never share (and overwrite) one NXem object.
    __table_args__ = (UniqueConstraint("bucket", "key", name="uq_derived_files_object"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    source_file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files.id"), index=True)
    bucket: Mapped[str] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    valid: Mapped[bool] = mapped_column(Boolean, default=False)
    report: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The catalog's own verdict (domain/verdicts.py): the FAIRmat validator on the stored object,
    # whatever the uploading desktop could run. Null until judged, and where no judge is installed.
    server_valid: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    server_validator: Mapped[str] = mapped_column(String(64), default="")
    server_report: Mapped[str] = mapped_column(Text, default="")
    server_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Its PNG thumbnail beside it in the mirror bucket (domain/thumbnails.py): the size and
    # SHA-256 declared for the upload, and the NXem SHA-256 it was stored for ("" while none is):
    # a thumbnail of older bytes is no thumbnail of these.
    thumbnail_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    thumbnail_sha256: Mapped[str] = mapped_column(String(64), default="")
    thumbnail_of: Mapped[str] = mapped_column(String(64), default="")


class Change(Base):
    """The change feed: one row per write, in commit order (see domain/change_feed.record_change)."""

    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_proposal", "proposal_id", "rev"),)
    rev: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    op: Mapped[str] = mapped_column(String(16))
    proposal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    data: Mapped[dict] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CatalogIdentity(Base):
    """This catalog's own id, one row (`slot` 1). It lives in the database, not in a server's
    memory or config, so every server process behind a load balancer answers with the same id and
    a server moved to another address keeps it: clients file their queued work under it."""

    __tablename__ = "catalog_identity"
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    catalog_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FixityObject(Base):
    """Fixity state of one stored object (a raw file or a derived NXem file; `id` is that row's id).

    The queue of `lamefair-catalog fixity`: oldest-checked first, one process at a time per object
    (`claimed_until` is the lease of the process checking it, `claimed_by` names that process).
    Rows are added for newly stored objects at the start of each pass (domain/fixity.enrol)."""

    __tablename__ = "fixity_objects"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "raw" or "derived"
    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)  # for pacing a pass
    # The SHA-256 the last check compared with: a result about other bytes (a derived file
    # uploaded again since) is not shown as the object's.
    sha256: Mapped[str] = mapped_column(String(64), default="")
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    last_result: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_detail: Mapped[str] = mapped_column(Text, default="")
    claimed_by: Mapped[str] = mapped_column(String(128), default="")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FixityCheck(Base):
    """One check of one object, kept for good: when, by whom, what was expected and found."""

    __tablename__ = "fixity_checks"
    __table_args__ = (Index("ix_fixity_checks_object", "object_id", "checked_at"),)
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    object_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(8))
    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    pass_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    bucket: Mapped[str] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(String(1024))
    expected_sha256: Mapped[str] = mapped_column(String(64))
    actual_sha256: Mapped[str] = mapped_column(String(64), default="")
    result: Mapped[str] = mapped_column(String(16))  # ok, mismatch, missing, error
    detail: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_by: Mapped[str] = mapped_column(String(128), default="")


class FixityPass(Base):
    """A full pass over every stored object. Processes that start while one is unfinished join it
    (and a pass left unfinished by a crash is resumed); `finished_at` is set by the process that
    finds nothing left to check."""

    __tablename__ = "fixity_passes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ShareLink(Base):
    """A link anyone holding it may open without an account, to one object or to every object
    under one folder of a proposal's bucket (domain/shares.py). Only the SHA-256 of the token is
    kept: a copy of the database hands out no working links."""

    __tablename__ = "share_links"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    proposal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("proposals.id"), index=True)
    bucket: Mapped[str] = mapped_column(String(63))
    # An object's key, or a folder's prefix ending in "/" (`is_folder`).
    key: Mapped[str] = mapped_column(String(1024))
    is_folder: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")


class ShareUse(Base):
    """One opening of a share link, allowed or refused: what the proposal's owners can audit."""

    __tablename__ = "share_uses"
    __table_args__ = (Index("ix_share_uses_link", "link_id", "at"),)
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    link_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("share_links.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    key: Mapped[str] = mapped_column(String(1024), default="")  # the object asked for, if any
    # "download", "listing", "revoked", "expired", "outside" (a path not under the link), "missing"
    outcome: Mapped[str] = mapped_column(String(16))
    client: Mapped[str] = mapped_column(String(64), default="")  # the caller's address
    user_agent: Mapped[str] = mapped_column(String(256), default="")


# What the search indexes carry beside their keys (PostgreSQL's INCLUDE; migrations 0009, 0010):
# every column a filter, a facet, the page order or a word search (`q`) reads, so a search is
# answered from one index alone.
SEARCH_INCLUDES = (
    "derived_id",
    "stored",
    "valid",
    "sample_id",
    "instrument",
    "detector",
    "operator",
    "voltage",
    "magnification",
    "field_of_view",
    "pixel_size",
    "dwell_time",
    "working_distance",
    "camera_length",
    "stage_tilt",
    "acquired_at",
    "path",
    "measurement_id",
    "experiment_id",
)
# The search indexes' second keys after proposal_id: the date (and the page order), and the
# filters the Find panel and the bench use most. PostgreSQL reads only the entries of the
# caller's proposals inside the range or value asked for (one descent per proposal), instead of
# every entry of those proposals filtered one by one (migration 0010).
SEARCH_KEYS = {
    "ix_acquisition_search": "acquired_at",
    "ix_acquisition_search_voltage": "voltage",
    "ix_acquisition_search_instrument": "instrument",
    "ix_acquisition_search_operator": "operator",
}


def search_includes(key: str) -> list[str]:
    return [c for c in SEARCH_INCLUDES if c != key]


class AcquisitionValues(Base):
    """What the microscope did for one derived NXem file (domain/search.py): the values the
    desktop mapped at conversion, in SI units, with the ids above it copied in so a search is one
    indexed table and no join. Those ids never change (nothing moves between parents); the sample's
    elements and the names text is matched on are looked up at query time, so edits show at once.
    """

    __tablename__ = "acquisition_values"
    # Every search is scoped to the proposals the caller reads: the search indexes lead by
    # proposal_id, then the date, the voltage, the instrument or the operator (SEARCH_KEYS), and
    # on PostgreSQL each also holds every column a search reads, so a search is answered from
    # the index whose second key narrows it most (an index-only scan, once the visibility map is
    # set by (auto)vacuum) without reading the wide rows (migrations 0009, 0010). The
    # single-column ones serve admins and operators, whose searches are not scoped.
    __table_args__ = (
        *(
            Index(name, "proposal_id", key, postgresql_include=search_includes(key))
            for name, key in SEARCH_KEYS.items()
        ),
        Index("ix_acquisition_acquired", "acquired_at"),
        Index("ix_acquisition_voltage", "voltage"),
        Index("ix_acquisition_pixel_size", "pixel_size"),
        Index("ix_acquisition_magnification", "magnification"),
        Index("ix_acquisition_instrument", "instrument"),
        Index("ix_acquisition_detector", "detector"),
        Index("ix_acquisition_operator", "operator"),
        Index("ix_acquisition_sample", "sample_id"),
    )
    derived_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("derived_files.id"), primary_key=True)
    file_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    measurement_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    experiment_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    sample_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    path: Mapped[str] = mapped_column(String(1024), default="")  # the raw file's, for text search
    operator: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    instrument: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")  # "vendor model"
    vendor: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    model: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    detector: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    voltage: Mapped[float | None] = mapped_column(Float, nullable=True)  # V
    magnification: Mapped[float | None] = mapped_column(Float, nullable=True)
    field_of_view: Mapped[float | None] = mapped_column(Float, nullable=True)  # m
    pixel_size: Mapped[float | None] = mapped_column(Float, nullable=True)  # m (or 1/m)
    dwell_time: Mapped[float | None] = mapped_column(Float, nullable=True)  # s
    working_distance: Mapped[float | None] = mapped_column(Float, nullable=True)  # m
    camera_length: Mapped[float | None] = mapped_column(Float, nullable=True)  # m
    stage_tilt: Mapped[float | None] = mapped_column(Float, nullable=True)  # degrees
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acquired_text: Mapped[str] = mapped_column(String(64), default="")  # as stated, with its zone
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    frames: Mapped[int | None] = mapped_column(Integer, nullable=True)
    valid: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    stored: Mapped[bool] = mapped_column(Boolean, default=False)  # found only once stored
