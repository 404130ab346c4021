"""Running the upload queue: claim what is ours, then upload it in batches per measurement.

A part of the Uploader (upload.py): one plan request and one complete request per batch of
small files (they are bound by requests, not bandwidth), two batches in flight so that one's
requests overlap the other's PUTs, and files waiting for the network retried now and then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor

from lamefair_desktop.catalog.client import CatalogError, CatalogUnreachable, SignInRequired
from lamefair_desktop.transfer.elsewhere import POLL_SECONDS, Awaited
from lamefair_desktop.transfer.progress import Meter
from lamefair_desktop.transfer.queue import QueuedFile
from lamefair_desktop.transfer.states import ACTIVE_STATES, SENT, UploadState

BATCH_SIZE = 64  # files per plan/complete request; smaller batches report "stored" sooner
BATCHES_IN_FLIGHT = 2


class BatchRunner:
    def run(
        self,
        cancel: threading.Event | None = None,
        *,
        until_idle: bool = True,
        patience: float | None = None,
        wait_for: Collection[str] = (),
    ) -> dict:
        """Upload everything queued (or interrupted) for this server; returns counts by state.

        Files waiting for the network are retried every `retry_waiting_after` seconds; with
        `patience` the run returns after that many seconds of waiting (they stay queued).
        Only files this uploader claims are touched: another process on the same data folder
        keeps its own. Of those, the ones in `wait_for` are waited for (and taken over if their
        process dies); the rest are left to it.
        """
        cancel = cancel or threading.Event()
        waited = 0.0
        awaited = Awaited(self.claims, self.queue, wait_for, self._report)
        while not cancel.is_set():
            pending = [
                item
                for item in self.queue.items(ACTIVE_STATES)
                if item.server == self.client.catalog_key
            ]
            if not pending:
                break
            held = self.claims.take(item.file_id for item in pending)
            try:
                # Read again once claimed: another process may have finished some meanwhile.
                ours = [i for i in self.queue.items(ACTIVE_STATES) if i.file_id in held]
                ready = [i for i in ours if i.state != UploadState.WAITING]
                if ready:
                    self._run_batches(ready, cancel)
                elif ours:  # only files waiting for the network: pause, then try them again
                    if patience is not None and waited >= patience:
                        break
                    if cancel.wait(self.settings.retry_waiting_after):
                        break
                    waited += self.settings.retry_waiting_after
                    for item in ours:
                        self.queue.set_state(item.file_id, UploadState.QUEUED)
                    continue
                elif not (until_idle and awaited.any_pending(pending)):
                    break  # what is left belongs to other processes
                elif cancel.wait(POLL_SECONDS):
                    break
            finally:
                self.claims.release(held)
            if not until_idle:
                break
        awaited.finished()
        counts: dict[str, int] = {}
        for item in self.queue.items():
            if item.server == self.client.catalog_key:
                counts[item.state] = counts.get(item.state, 0) + 1
        return counts

    def _run_batches(self, ready: list[QueuedFile], cancel: threading.Event) -> None:
        groups: dict[str, list[QueuedFile]] = {}
        for item in ready:
            groups.setdefault(item.measurement_id, []).append(item)
        batches = [
            (measurement_id, items[start : start + BATCH_SIZE])
            for measurement_id, items in groups.items()
            for start in range(0, len(items), BATCH_SIZE)
        ]
        # Two batches in flight: one's plan and complete requests overlap the other's PUTs.
        with ThreadPoolExecutor(BATCHES_IN_FLIGHT) as pipeline:
            list(
                pipeline.map(
                    lambda batch: (
                        None if cancel.is_set() else self._upload_batch(batch[0], batch[1], cancel)
                    ),
                    batches,
                )
            )

    def _report(self, item: QueuedFile, state: str, detail: str) -> None:
        """Progress for a file another process sent (or is sending) for this run."""
        self._emit(item, Meter(item.size if state == UploadState.STORED else 0), state, detail)

    def _upload_batch(
        self, measurement_id: str, items: list[QueuedFile], cancel: threading.Event
    ) -> None:
        """Plans for the whole batch in one request, the bytes in parallel, then one request
        completing every single-PUT file: small files are bound by requests, not bandwidth."""
        by_id = {item.file_id: item for item in items}
        try:
            answer = self.client.upload_plans(measurement_id, list(by_id))
        except (CatalogUnreachable, SignInRequired) as exc:
            for item in items:
                self._hold(item, Meter(), exc)
            return
        except CatalogError:
            answer = None  # a server without the batch routes: one request per file
        if answer is None:
            self._in_parallel(lambda item: self.upload_one(item, cancel), items)
            return
        for refused in answer["errors"]:
            item = by_id[refused["file"]]
            if refused.get("state") == UploadState.STORED:
                self._stored(item, Meter())
            else:
                self._fail(item, Meter(), refused["detail"])
        planned = [(by_id[p["file"]], p["plan"]) for p in answer["plans"]]
        results = self._in_parallel(
            lambda pair: self.upload_one(pair[0], cancel, pair[1], defer_complete=True), planned
        )
        sent = [item for (item, _), result in zip(planned, results, strict=True) if result == SENT]
        if not sent:
            return
        try:
            done = self.client.complete_uploads(measurement_id, [i.file_id for i in sent])
        except (CatalogUnreachable, SignInRequired) as exc:
            for item in sent:
                self._hold(item, Meter(), exc)
            return
        for stored in done["files"]:
            self._stored(by_id[stored["id"]], Meter())
        for refused in done["errors"]:
            self._fail(by_id[refused["file"]], Meter(), refused["detail"])

    def _in_parallel(self, work: Callable, items: list) -> list:
        # Shared between the batches in flight: about file_concurrency PUTs at once in total.
        workers = max(1, self.settings.file_concurrency // BATCHES_IN_FLIGHT)
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(work, items))
