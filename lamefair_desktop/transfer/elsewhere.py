"""Files a run waits for while another process on the same data folder uploads them.

`lamefair upload` must not exit before its own files are stored, even when the window's engines
or another `lamefair upload` claimed them first; and its output should say so rather than go
quiet. Each awaited file is reported once as `elsewhere` (naming the process), then with the
final state the other process wrote, as if this run had sent it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from lamefair_desktop.transfer.claims import Claims
from lamefair_desktop.transfer.queue import QueuedFile, UploadQueue
from lamefair_desktop.transfer.states import ACTIVE_STATES, ELSEWHERE

POLL_SECONDS = 1.0  # between looks at files another process is uploading


class Awaited:
    def __init__(
        self,
        claims: Claims,
        queue: UploadQueue,
        file_ids: Collection[str],
        report: Callable[[QueuedFile, str, str], None],
    ) -> None:
        self.claims = claims
        self.queue = queue
        self.file_ids = set(file_ids)
        self.report = report  # (file, state, detail)
        self._announced: set[str] = set()

    def any_pending(self, pending: list[QueuedFile]) -> bool:
        """Say which awaited files another process has; True while any is still unfinished (a
        free one is taken by the caller's next round, one of a dead process included)."""
        self.finished()
        awaited = [item for item in pending if item.file_id in self.file_ids]
        holders = self.claims.holders(item.file_id for item in awaited)
        for item in awaited:
            if item.file_id in holders and item.file_id not in self._announced:
                self._announced.add(item.file_id)
                who = holders[item.file_id].describe()
                self.report(item, ELSEWHERE, f"being uploaded by {who}")
        return bool(awaited)

    def finished(self) -> None:
        """Report the final state of announced files another process has finished."""
        for file_id in sorted(self._announced):
            item = self.queue.get(file_id)
            if item is None or item.state not in ACTIVE_STATES:
                self._announced.discard(file_id)
                if item is not None:
                    self.report(item, item.state, item.error)
