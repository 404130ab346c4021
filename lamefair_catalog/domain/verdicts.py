"""The catalog's own FAIRmat verdict on every stored derived NXem file.

The packaged desktop leaves the FAIRmat validator (pynxtools) out, so microscope PCs only run a
structural check. Where pynxtools is importable here (the `fairmat` extra), the catalog fetches
each derived file once it is stored, judges it with the same child-process runner the desktop uses
(`nxem_judge.py`) and records the verdict on the row and in the change feed, so desktops learn it.

Hazards and choices:
- Never in the request: `derived.complete_derived` only hands the id over. One worker thread, so
  at most one object is on the temp disk and one validator child (~3 s, a few hundred MB) runs at a time:
  the catalog's requests keep the rest of the machine.
- The object is fetched through `storage/gateway.py` (the one S3 gateway) into a temp folder,
  bounded by `verdict_max_bytes`; its SHA-256 must be the one recorded, else the verdict would be about
  other bytes than the catalog describes.
- A row re-uploaded while it is being judged gets the new verdict later (its server fields were
  reset by `start_derived`); a verdict for bytes that are no longer there is dropped.
- Stored rows never judged (the server stopped, storage was down) are judged after a restart.
- Several server processes on one database may judge the same row: harmless, the verdict is the
  same.
"""

from __future__ import annotations

import heapq
import importlib.util
import logging
import queue
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from lamefair_catalog.database.models import DerivedFile, Experiment, File, Measurement, Sample
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.change_feed import record_change
from lamefair_catalog.domain.outputs import derived_out
from lamefair_catalog.nxem_judge import JudgeTimeout, judge
from lamefair_catalog.shared import REPORT_LENGTH
from lamefair_catalog.storage.errors import ObjectTooLarge, StorageError

log = logging.getLogger("lamefair_catalog.domain.verdicts")
RETRIES = 10  # a storage outage of up to RETRIES x RETRY_AFTER seconds leaves no file unjudged
RETRY_AFTER = 30.0

TRUNCATED = "\n… (report cut at {} characters)"


def validator_installed() -> bool:
    return importlib.util.find_spec("pynxtools") is not None


def _bounded(report: str) -> str:
    if len(report) <= REPORT_LENGTH:
        return report
    note = TRUNCATED.format(REPORT_LENGTH)
    return report[: REPORT_LENGTH - len(note)] + note


class ServerVerdicts:
    """A one-thread queue of derived-file ids to judge (see the module docstring)."""

    def __init__(self, catalog: Catalog, *, enabled: bool | None = None) -> None:
        self.catalog = catalog
        self.settings = catalog.settings
        self.enabled = validator_installed() if enabled is None else enabled
        self._queue: queue.Queue[uuid.UUID] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._retries: dict[uuid.UUID, int] = {}  # fetch attempts that met a storage error
        # (when, id) of fetches to try again, kept by the worker itself: one timer thread per
        # failed fetch meant thousands of threads for a large backlog during a storage outage.
        self._later: list[tuple[float, uuid.UUID]] = []

    def start(self) -> None:
        """Start the worker, which first picks up stored rows never judged."""
        if not self.enabled:
            log.info("pynxtools is not installed: derived files are not judged by the catalog")
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="lamefair-verdicts", daemon=True
                )
                self._thread.start()

    def submit(self, derived_id: uuid.UUID) -> None:
        if self.enabled:
            self._queue.put(derived_id)
            self.start()

    def _run(self) -> None:
        try:
            for derived_id in self._unjudged():
                self._queue.put(derived_id)
        except Exception:  # the database may not be there yet; new completions still come
            log.exception("could not list the derived files still to judge")
        while True:
            self._requeue_due()  # due retries go behind the work already queued
            try:
                derived_id = self._queue.get(timeout=self._until_next_retry())
            except queue.Empty:
                continue
            try:
                self.check(derived_id)
            except Exception:  # one file's trouble must not stop the worker
                log.exception("judging derived file %s failed", derived_id)

    def _until_next_retry(self) -> float | None:
        """Seconds until the earliest retry is due (None: wait for new work only)."""
        with self._lock:
            if not self._later:
                return None
            return max(0.0, self._later[0][0] - time.monotonic())

    def _requeue_due(self) -> None:
        now = time.monotonic()
        with self._lock:
            while self._later and self._later[0][0] <= now:
                self._queue.put(heapq.heappop(self._later)[1])

    def _unjudged(self) -> list[uuid.UUID]:
        with self.catalog.sessions() as session:
            return list(
                session.scalars(
                    select(DerivedFile.id).where(
                        DerivedFile.state == "stored", DerivedFile.server_checked_at.is_(None)
                    )
                )
            )

    def check(self, derived_id: uuid.UUID) -> None:
        """Fetch, judge and record one derived file (on the worker thread)."""
        with self.catalog.sessions() as session:
            row = session.get(DerivedFile, derived_id)
            if row is None or row.state != "stored":
                return
            bucket, key, sha256 = row.bucket, row.key, row.sha256
        with tempfile.TemporaryDirectory(prefix="lamefair-verdict-") as folder:
            path = Path(folder) / "derived.nxs"
            try:
                fetched = self.catalog.storage.download(
                    bucket, key, path, self.settings.verdict_max_bytes
                )
            except ObjectTooLarge as exc:
                self._record(derived_id, sha256, None, "", f"Not judged by the catalog: {exc}")
                return
            except StorageError as exc:  # storage is sick: try again later, a few times
                tries = self._retries.get(derived_id, 0) + 1
                self._retries[derived_id] = tries
                if tries <= RETRIES:
                    log.warning("could not fetch %s to judge it (%s); again later", key, exc)
                    with self._lock:
                        heapq.heappush(self._later, (time.monotonic() + RETRY_AFTER, derived_id))
                else:
                    log.warning("could not fetch %s to judge it: %s; left for a restart", key, exc)
                return
            self._retries.pop(derived_id, None)
            if fetched != sha256:
                log.warning("%s in %s is not the recorded object; not judged", key, bucket)
                return
            self._judge(derived_id, sha256, path)

    def _judge(self, derived_id: uuid.UUID, sha256: str, path: Path) -> None:
        try:
            outcome = judge(path, self.settings.verdict_timeout)
        except JudgeTimeout as exc:
            self._record(derived_id, sha256, None, "pynxtools", f"Not judged by the catalog: {exc}")
            return
        if outcome.missing:  # importable in principle, broken in practice: stop trying
            log.warning("pynxtools cannot be imported (%s): no catalog verdicts", outcome.missing)
            self.enabled = False
            return
        if outcome.error:  # not even HDF5: certainly not valid NXem
            self._record(
                derived_id,
                sha256,
                False,
                outcome.validator,
                f"The FAIRmat validator could not read the file: {outcome.error}",
            )
            return
        verdict = "valid" if outcome.valid else "NOT valid"
        header = (
            f"Checked by the catalog with the FAIRmat validator ({outcome.validator}, strict "
            f"mode): {verdict} NXem."
        )
        report = "\n".join([header, *outcome.problems])
        self._record(derived_id, sha256, outcome.valid, outcome.validator, report)

    def _record(
        self,
        derived_id: uuid.UUID,
        sha256: str,
        valid: bool | None,
        validator: str,
        report: str,
    ) -> None:
        with self.catalog.session() as session:
            row = session.get(DerivedFile, derived_id)
            # Re-uploaded meanwhile: this verdict is about bytes that are gone.
            if row is None or row.state != "stored" or row.sha256 != sha256:
                return
            row.server_valid, row.server_validator = valid, validator
            row.server_report = _bounded(report)
            row.server_checked_at = datetime.now(UTC)
            proposal_id = session.scalar(
                select(Sample.proposal_id)
                .join(Experiment, Experiment.sample_id == Sample.id)
                .join(Measurement, Measurement.experiment_id == Experiment.id)
                .join(File, File.measurement_id == Measurement.id)
                .where(File.id == row.source_file_id)
            )
            out = derived_out(row)
            record_change(session, "derived", row.id, "update", proposal_id, out)
            session.commit()
