"""The conversion worker: takes the conversion queue's jobs one at a time, converts the local
source to NXem with its catalog context, validates it and stores it in the mirror bucket (no Qt).

One file at a time keeps memory bounded; every step is recorded on the job (transfer/derived.py),
so a restart resumes where it stopped and never uploads a derived file twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from lamefair_catalog.shared import GENERIC_PAIR
from lamefair_desktop.catalog.client import CatalogClient, CatalogError, CatalogUnreachable
from lamefair_desktop.catalog.thumbnails import upload_thumbnail
from lamefair_desktop.catalog.tls import http_client
from lamefair_desktop.hashing import sha256_of
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.nexus.acquisition_values import acquisition_values
from lamefair_desktop.nexus.errors import NexusEngineError
from lamefair_desktop.nexus.local_time import ZoneChoice
from lamefair_desktop.nexus.mapping import PairOrigin
from lamefair_desktop.nexus.thumbnail import render_thumbnail
from lamefair_desktop.nexus.validate import (
    ValidationReport,
    ValidatorMissing,
    fairmat_installed,
    fairmat_validate,
    structural_report,
)
from lamefair_desktop.nexus.writer import KnownDigest, convert
from lamefair_desktop.transfer.derived import (
    ACTIVE_STATES,
    FINAL_STATES,
    DerivedJob,
    DerivedQueue,
    MeasurementConverted,
    default_zone,
    derived_dir,
)
from lamefair_desktop.transfer.queue import UploadQueue
from lamefair_desktop.transfer.states import (
    ConversionState,
    UploadState,
)

log = logging.getLogger(__name__)


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
        settings: Settings | None = None,
    ) -> None:
        self.client = client
        # The settings the caller loaded, else read once now (never for every file: a settings
        # file broken later must not stop conversions): where NXem files go, the default zone.
        settings = settings if settings is not None else Settings.load()
        self.output_dir = output_dir if output_dir is not None else derived_dir(settings)
        self.default_timezone = settings.default_timezone
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
                    sha256 = upload.sha256 or self._stored_sha256(job.file_id)
                    if sha256:
                        known = KnownDigest(sha256, upload.size, upload.mtime_ns)
                        finished += self._derive(job, upload.local_path, known, cancel)
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

    def _stored_sha256(self, file_id: str) -> str:
        """The catalog's SHA-256 of a file another process stored (this queue never computed
        it); "" while the catalog cannot be asked: the job waits for the next round."""
        try:
            return self.client.get_file(file_id).get("sha256") or ""
        except CatalogError:
            return ""

    def _derive(
        self, job: DerivedJob, source: str, known: KnownDigest, cancel: threading.Event
    ) -> int:
        """Returns 1 when the job reached a final state.

        The upload's SHA-256 is recorded without reading the file again while the file is as it
        was queued (`KnownDigest`); otherwise conversion hashes it and a difference fails the job.
        """
        # Keep the relative path and the whole name: a/x.tif and b/x.tif, or x.tif and x.dm4, of
        # one measurement must not write (and then upload) each other's NXem.
        output = self.output_dir / job.measurement_id / Path(job.rel_path + ".nxs")
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
                    zone=zone or default_zone(pair, self.default_timezone),
                    context=context,
                    known=known,
                    cancel=cancel,
                )
                if cancel.is_set():
                    return 0
                if result.source_sha256 != known.sha256:
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
        acquisition = self._acquisition(job)
        try:
            plan = self.client.start_derived(
                job.file_id, size, digest, bool(job.valid), job.report, acquisition
            )
        except CatalogError as exc:
            if acquisition is None or not _refused_acquisition(exc):
                raise
            # A catalog older than search refuses the field: the NXem is stored all the same.
            plan = self.client.start_derived(job.file_id, size, digest, bool(job.valid), job.report)
        with path.open("rb") as handle:
            response = self.s3.put(plan["url"], content=handle, headers=plan.get("headers") or {})
        if response.status_code >= 500:  # storage unwell: OFFLINE, sent again later
            raise CatalogUnreachable(
                f"The mirror bucket answered {response.status_code} for {path.name}; it is kept "
                "locally and will be sent again."
            )
        if response.status_code >= 300:
            raise CatalogError(
                f"The mirror bucket refused {path.name} ({response.status_code}); it is kept "
                "locally and will be sent again."
            )
        self.client.complete_derived(plan["id"])
        note = self._send_thumbnail(plan["id"], path)
        self._set(job.file_id, state=ConversionState.STORED, error=note)

    def _send_thumbnail(self, derived_id: str, nxem: Path) -> str:
        """Render the stored NXem's thumbnail and put it beside it; "" when sent, else what the
        row's tooltip says. Never raises: the NXem is stored whatever becomes of its picture."""
        try:
            upload_thumbnail(self.client, self.s3, derived_id, render_thumbnail(nxem))
            return ""
        except Exception as exc:  # any failure here, even a bug, must leave the NXem stored
            log.warning("no thumbnail for %s: %s", nxem.name, exc, exc_info=True)
            return (
                f"Stored without a thumbnail ({exc}); `lamefair thumbnails --missing` makes "
                "it later."
            )

    def _acquisition(self, job: DerivedJob) -> dict | None:
        """What the catalog indexes for search, from the NXem just written (tags and shapes, no
        pixels); None, and the file is stored unsearchable, when they cannot be read."""
        try:
            return acquisition_values(job.output, valid=job.valid)
        except (NexusEngineError, OSError, KeyError, ValueError) as exc:
            log.warning("no acquisition values for %s: %s", job.output, exc)
            return None

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


def _refused_acquisition(exc: CatalogError) -> bool:
    errors = (exc.body or {}).get("errors") or [] if exc.status == 422 else []
    return any(str(e.get("field", "")).startswith("acquisition") for e in errors)
