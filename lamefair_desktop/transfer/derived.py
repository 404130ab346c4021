"""After a raw TIFF is stored: convert it to NXem with its catalog context, validate the result,
and store it in the proposal's mirror bucket (no Qt).

The work is durable like the upload queue: a `derived_jobs` row per file says where it is, so a
restart converts what was waiting and never uploads a derived file twice. A conversion needs the
local source (the TIFF as uploaded: its SHA-256 is checked again while converting), so the raw copy
in S3 stays the reference and nothing here ever touches it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lamefair_catalog.shared import GENERIC_PAIR
from lamefair_desktop.catalog.client import CatalogClient, CatalogError, CatalogUnreachable
from lamefair_desktop.catalog.sync import learn_server_verdict
from lamefair_desktop.catalog.tls import http_client
from lamefair_desktop.hashing import sha256_of
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.home.tables import DerivedRow, plain
from lamefair_desktop.home.tables import now as _now
from lamefair_desktop.nexus.errors import NexusEngineError
from lamefair_desktop.nexus.formats import CONVERTIBLE_SUFFIXES
from lamefair_desktop.nexus.local_time import ZoneChoice
from lamefair_desktop.nexus.mapping import PairOrigin, default_registry
from lamefair_desktop.nexus.validate import (
    FAIRMAT,
    VALIDATOR_LABELS,
    ValidationReport,
    ValidatorMissing,
    fairmat_installed,
    fairmat_validate,
    structural_report,
)
from lamefair_desktop.nexus.writer import convert
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.states import (
    CONVERSION_ACTIVE,
    CONVERSION_FINAL,
    ConversionState,
    UploadState,
)

log = logging.getLogger(__name__)

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


def default_zone(pair: str | None) -> ZoneChoice | None:
    """The zone when the files' own did not say: this computer's default from the settings,
    unless the instrument pair names its own (None: the pair's, else the system's zone)."""
    setting = Settings.load().default_timezone
    if setting is None:
        return None
    try:
        if pair is not None and default_registry().get(pair).timezone:
            return None
    except NexusEngineError:
        pass  # an unknown pair: convert() says so
    return ZoneChoice(setting, "this computer's default time zone (lamefair settings)")


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


class Deriver:
    """Runs the conversion queue for one catalog: one file at a time (memory stays bounded)."""

    def __init__(
        self,
        client: CatalogClient,
        uploads: UploadQueue,
        queue: DerivedQueue,
        *,
        progress: Callable[[DerivedJob], None] | None = None,
        converted: Callable[[MeasurementConverted], None] | None = None,
        validate_with_pynx: bool | None = None,
        output_dir: Path | None = None,
    ) -> None:
        self.client = client
        # Where the NXem files are written: from the settings the caller loaded, else read once
        # now (not for every file: a settings file broken later must not stop conversions).
        self.output_dir = output_dir if output_dir is not None else derived_dir(Settings.load())
        self.uploads = uploads
        self.queue = queue
        self.progress = progress
        self.converted = converted
        # The FAIRmat validator is the authority where it is installed; otherwise our own
        # structural check, and the row says which one spoke.
        self.use_pynx = fairmat_installed() if validate_with_pynx is None else validate_with_pynx
        self.s3 = http_client(client.ca_bundle, timeout=httpx.Timeout(120.0, connect=10.0))
        self._contexts: dict[str, dict] = {}

    def close(self) -> None:
        self.s3.close()

    def _set(self, file_id: str, **values) -> DerivedJob:
        job = self.queue.update(file_id, **values)
        if self.progress is not None:
            self.progress(job)
        return job

    def run(self, cancel: threading.Event | None = None, *, poll: float | None = None) -> dict:
        """Convert and store every job whose raw file is stored; returns counts by state.

        With `poll`, keep watching for new work every `poll` seconds until cancelled (the GUI);
        without, return once nothing more can be done now (the CLI, tests).
        """
        cancel = cancel or threading.Event()
        while not cancel.is_set():
            finished = 0
            for job in self.queue.items(ACTIVE_STATES):
                if cancel.is_set() or job.server != self.client.catalog_key:
                    continue
                upload = self.uploads.get(job.file_id)
                raw_state = upload.state if upload else "missing"
                if raw_state in (UploadState.FAILED, UploadState.CANCELLED, "missing"):
                    self._set(
                        job.file_id,
                        state=ConversionState.SKIPPED,
                        error=f"the raw upload is {raw_state}",
                    )
                    finished += 1
                elif raw_state == UploadState.STORED:
                    finished += self._derive(job, upload.local_path, upload.sha256, cancel)
            if poll is None:
                if not finished:  # the rest waits for uploads or the network
                    break
            elif cancel.wait(poll):
                break
        counts: dict[str, int] = {}
        for job in self.queue.items():
            if job.server == self.client.catalog_key:
                counts[job.state] = counts.get(job.state, 0) + 1
        return counts

    def _derive(self, job: DerivedJob, source: str, sha256: str, cancel: threading.Event) -> int:
        """Returns 1 when the job reached a final state."""
        # Keep the relative path: a/x.tif and b/x.tif of one measurement must not collide.
        output = self.output_dir / job.measurement_id / Path(job.rel_path).with_suffix(".nxs")
        try:
            if job.state != ConversionState.UPLOADING or not Path(job.output).is_file():
                job = self._set(job.file_id, state=ConversionState.CONVERTING, error="")
                context = self._context(job.measurement_id)
                # "generic" is the catalog's "not said": the file's own flavour picks the mapping.
                pair = None if job.pair == GENERIC_PAIR else job.pair
                zone = ZoneChoice(job.timezone, job.timezone_reason) if job.timezone else None
                result = convert(
                    source,
                    output,
                    pair=pair,
                    pair_origin=PairOrigin.MEASUREMENT,
                    zone=zone or default_zone(pair),
                    context=context,
                    cancel=cancel,
                )
                if cancel.is_set():
                    return 0
                if result.source_sha256 != sha256:
                    output.unlink(missing_ok=True)
                    self._set(
                        job.file_id,
                        state=ConversionState.FAILED,
                        error=(
                            f"{source} changed after it was uploaded, so its NXem would not "
                            "describe the stored file; the stored raw copy is intact: download "
                            "it and convert that with `lamefair convert`."
                        ),
                    )
                    return self._finished(job)
                report = self._validate(output)
                job = self._set(
                    job.file_id,
                    state=ConversionState.UPLOADING,
                    output=str(output),
                    output_sha256=sha256_of(output),
                    valid=report.valid,
                    validator=report.validator,
                    report=report.report,
                    lacking="\n".join(result.lacking),
                    server_valid=None,  # about the bytes sent before, if any
                    server_validator="",
                    server_report="",
                )
            self._store(job)
        except CatalogUnreachable as exc:
            self._set(job.file_id, state=ConversionState.OFFLINE, error=str(exc))
        except (NexusEngineError, CatalogError) as exc:
            self._set(job.file_id, state=ConversionState.FAILED, error=str(exc))
        except httpx.HTTPError as exc:
            self._set(
                job.file_id, state=ConversionState.OFFLINE, error=f"Storage unreachable: {exc}"
            )
        except FileNotFoundError:
            self._set(
                job.file_id,
                state=ConversionState.FAILED,
                error=(
                    f"{source} is gone, so it cannot be converted here; the stored raw copy is "
                    "intact: download it and convert that with `lamefair convert`."
                ),
            )
        return self._finished(job)

    def _finished(self, job: DerivedJob) -> int:
        now = self.queue.get(job.file_id)
        if now is None or now.state not in FINAL_STATES:
            return 0
        self._maybe_announce(job.measurement_id)
        return 1

    def _validate(self, output: Path) -> ValidationReport:
        if self.use_pynx:
            try:
                return fairmat_validate(output)
            except ValidatorMissing as exc:
                log.warning("%s", exc)
                self.use_pynx = False  # not coming back in this process
            except (NexusEngineError, OSError) as exc:
                log.warning("the FAIRmat validator failed to run on %s: %s", output, exc)
        # The report's first line says the FAIRmat validator did not run: the catalog keeps it.
        return structural_report(output)

    def _store(self, job: DerivedJob) -> None:
        """Single PUT to the mirror bucket with the signed SHA-256, then the catalog checks it."""
        path = Path(job.output)
        size = path.stat().st_size
        digest = sha256_of(path)
        plan = self.client.start_derived(job.file_id, size, digest, bool(job.valid), job.report)
        with path.open("rb") as handle:
            response = self.s3.put(plan["url"], content=handle, headers=plan.get("headers") or {})
        if response.status_code >= 300:
            raise CatalogError(
                f"The mirror bucket refused {path.name} ({response.status_code}); it is kept "
                "locally and will be sent again."
            )
        self.client.complete_derived(plan["id"])
        self._set(job.file_id, state=ConversionState.STORED, error="")

    def _context(self, measurement_id: str) -> dict:
        """Sample, experiment, proposal and project of a measurement, as the catalog has them."""
        if measurement_id not in self._contexts:
            measurement = self.client.get_entity("measurements", measurement_id)
            experiment = self.client.get_entity("experiments", measurement["experiment"])
            sample = self.client.get_entity("samples", experiment["sample"])
            proposal = self.client.get_entity("proposals", sample["proposal"])
            project = self.client.get_entity("projects", proposal["project"])
            self._contexts[measurement_id] = {
                "project": project,
                "proposal": proposal,
                "sample": sample,
                "experiment": experiment,
                "measurement": measurement,
            }
        return self._contexts[measurement_id]

    def _maybe_announce(self, measurement_id: str) -> None:
        jobs = self.queue.items(measurement_id=measurement_id)
        if self.converted is None or any(j.state not in FINAL_STATES for j in jobs):
            return
        uploads = [u for u in self.uploads.items() if u.measurement_id == measurement_id]
        if any(u.state != UploadState.STORED for u in uploads):
            return
        valid = sum(1 for j in jobs if j.state == ConversionState.STORED and j.valid)
        self.converted(MeasurementConverted(measurement_id, len(uploads), valid, len(jobs) - valid))
