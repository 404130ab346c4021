"""The conversion queue: after a raw image is stored, its NXem copy is made (transfer/deriver.py),
validated and stored in the proposal's mirror bucket (no Qt).

The work is durable like the upload queue: a `derived_jobs` row per file says where it is, so a
restart converts what was waiting and never uploads a derived file twice. A conversion needs the
local source (the image as uploaded: its SHA-256 is checked again while converting), so the raw
copy in S3 stays the reference and nothing here ever touches it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lamefair_catalog.shared import GENERIC_PAIR
from lamefair_desktop.catalog.sync import learn_server_verdict
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.home.tables import DerivedRow, plain
from lamefair_desktop.home.tables import now as _now
from lamefair_desktop.nexus.errors import NexusEngineError
from lamefair_desktop.nexus.formats import CONVERTIBLE_SUFFIXES
from lamefair_desktop.nexus.local_time import ZoneChoice
from lamefair_desktop.transfer.states import (
    CONVERSION_ACTIVE,
    CONVERSION_FINAL,
    ConversionState,
)

log = logging.getLogger(__name__)

# The validator's and the mappings' modules (h5py and numpy, jsonschema) are imported where they
# are needed: `lamefair upload` queues conversions through this module and must not pay ~0.2 s
# of start-up for them.

CONVERTIBLE = CONVERTIBLE_SUFFIXES
FINAL_STATES = CONVERSION_FINAL
# waiting: for the raw upload; offline: for the network; then converting → uploading → stored.
ACTIVE_STATES = CONVERSION_ACTIVE


@dataclass(frozen=True)
class DerivedJob:
    """A derived_jobs row as a plain value (what crosses threads and reaches the UI)."""

    file_id: str
    measurement_id: str
    server: str
    rel_path: str
    pair: str
    state: str
    output: str
    valid: bool | None
    validator: str
    report: str
    lacking: str
    error: str
    server_valid: bool | None = None
    server_validator: str = ""
    server_report: str = ""
    timezone: str | None = None
    timezone_reason: str = ""
    output_sha256: str = ""

    @classmethod
    def of(cls, row: DerivedRow) -> DerivedJob:
        return plain(cls, row)

    @property
    def judged_valid(self) -> bool | None:
        """The catalog's FAIRmat verdict when it has one, else this computer's."""
        return self.valid if self.server_valid is None else self.server_valid

    @property
    def full_report(self) -> str:
        """What the report dialog shows: the catalog's report first when it has judged."""
        if self.server_valid is None:
            return self.report
        return f"{self.server_report}\n\nOn this computer:\n{self.report}"

    @property
    def verdict(self) -> str:
        """In words, for a table cell: the verdict and which check gave it (a structure that is
        complete is not yet valid NXem for FAIRmat). The catalog's FAIRmat verdict, once known,
        outranks whatever this computer could run."""
        from lamefair_desktop.nexus.validate import FAIRMAT, VALIDATOR_LABELS  # h5py: see below

        if self.state == ConversionState.STORED:
            if self.server_valid is not None:
                return (
                    "valid NXem (FAIRmat, checked by the catalog)"
                    if self.server_valid
                    else "stored, NOT valid (FAIRmat, checked by the catalog)"
                )
            if self.validator == FAIRMAT:
                return "valid NXem (FAIRmat)" if self.valid else "stored, NOT valid (FAIRmat)"
            who = VALIDATOR_LABELS.get(self.validator, self.validator)
            return f"structure complete ({who})" if self.valid else f"stored, NOT valid ({who})"
        if self.state == ConversionState.FAILED:
            return "conversion failed"
        if self.state == ConversionState.SKIPPED:
            return "not converted"
        return self.state


@dataclass(frozen=True)
class MeasurementConverted:
    """Every file of a measurement is stored and every TIFF has its derived file (or failed)."""

    measurement_id: str
    files: int
    valid: int
    problems: int


def wants_conversion(rel_path: str) -> bool:
    return rel_path.lower().endswith(CONVERTIBLE)


def pair_timezone(pair: str | None) -> str | None:
    """The IANA zone an instrument pair names for its clock; None for none, "generic" or an
    unknown pair (convert() names an unknown pair)."""
    if not pair or pair == GENERIC_PAIR:
        return None
    from lamefair_desktop.nexus.mapping import default_registry  # jsonschema: see below

    try:
        return default_registry().get(pair).timezone or None
    except NexusEngineError:
        return None


def default_zone(pair: str | None, default_timezone: str | None) -> ZoneChoice | None:
    """The zone when the files' own did not say: this computer's default (`default_timezone`,
    from the settings the caller loaded once), unless the instrument pair names its own (None:
    the pair's, else the system's zone)."""
    if default_timezone is None or pair_timezone(pair):
        return None
    return ZoneChoice(default_timezone, "this computer's default time zone (lamefair settings)")


def derived_dir(settings: Settings) -> Path:
    return settings.cache_path() / "derived"


class DerivedQueue:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def add(
        self, server: str, measurement: dict, pair: str, zone: ZoneChoice | None = None
    ) -> list[DerivedJob]:
        """Ask for a derived NXem of every TIFF of a just-registered measurement; `zone`: the
        instrument clock's, as chosen for these files (None: see `default_zone`)."""
        with self.sessions() as session:
            seq = session.scalar(select(func.coalesce(func.max(DerivedRow.seq), 0))) or 0
            for registered in measurement["files"]:
                if not wants_conversion(registered["path"]):
                    continue
                seq += 1
                session.merge(
                    DerivedRow(
                        file_id=registered["id"],
                        seq=seq,
                        measurement_id=measurement["id"],
                        server=server,
                        rel_path=registered["path"],
                        pair=pair,
                        state=ConversionState.WAITING,
                        timezone=zone.name if zone else None,
                        timezone_reason=zone.reason if zone else "",
                    )
                )
            session.commit()
            return self.items(measurement_id=measurement["id"], session=session)

    def items(
        self,
        states: tuple[str, ...] | None = None,
        *,
        measurement_id: str | None = None,
        session: Session | None = None,
    ) -> list[DerivedJob]:
        query = select(DerivedRow).order_by(DerivedRow.seq)
        if states is not None:
            query = query.where(DerivedRow.state.in_(states))
        if measurement_id is not None:
            query = query.where(DerivedRow.measurement_id == measurement_id)
        if session is not None:
            return [DerivedJob.of(r) for r in session.scalars(query)]
        with self.sessions() as own:
            return [DerivedJob.of(r) for r in own.scalars(query)]

    def get(self, file_id: str) -> DerivedJob | None:
        with self.sessions() as session:
            row = session.get(DerivedRow, file_id)
            return DerivedJob.of(row) if row else None

    def update(self, file_id: str, **values) -> DerivedJob:
        with self.sessions() as session:
            row = session.get(DerivedRow, file_id)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = _now()
            session.commit()
            return DerivedJob.of(row)

    def learn_server_verdict(
        self, derived: dict, session: Session | None = None
    ) -> DerivedJob | None:
        """The catalog's verdict from a derived file's record (catalog/sync.py does the work; this
        commits it in a session of its own unless the caller's is given)."""
        if session is not None:
            row = learn_server_verdict(session, derived)
            return DerivedJob.of(row) if row is not None else None
        with self.sessions() as own:
            job = self.learn_server_verdict(derived, own)
            own.commit()
            return job

    def retry(self, file_id: str) -> None:
        """A failed conversion (fixed mapping, freed disk), or one skipped because its upload
        was cancelled and is now resumed, goes round again."""
        job = self.get(file_id)
        if job is not None and job.state in (ConversionState.FAILED, ConversionState.SKIPPED):
            self.update(file_id, state=ConversionState.WAITING, error="")
