"""Table model of the upload queue: one row per file, updated from the engine's progress events.

Rows come from the durable queue first (so the panel shows what survived a restart), then follow
`FileProgress` events keyed by file id.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, Qt

from lamefair_desktop.transfer.derived import DerivedJob
from lamefair_desktop.transfer.progress import FileProgress
from lamefair_desktop.transfer.queue import QueuedFile
from lamefair_desktop.transfer.states import ACTIVE_STATES, UploadState
from lamefair_desktop.ui.format import human_size
from lamefair_desktop.ui.models.table_model import ColumnsTableModel

COLUMNS = ("File", "Size", "Progress", "Rate", "ETA", "State", "NXem")
FILE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
DERIVED_ROLE = Qt.ItemDataRole.UserRole + 2
ROOT = QModelIndex()


@dataclass
class Row:
    file_id: str
    path: str
    size: int
    done: int
    rate: float
    eta: float | None
    state: str
    error: str
    derived: DerivedJob | None = None


def _counted(state: str, size: int) -> int:
    """A file's bytes in the total bar: none once cancelled."""
    return 0 if state == UploadState.CANCELLED else size


def _uploading_rate(state: str, rate: float) -> float:
    return rate if state == UploadState.UPLOADING else 0.0


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TransfersModel(ColumnsTableModel):
    columns = COLUMNS

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._index: dict[str, int] = {}
        # Kept as rows change, so the total bar and the status bar cost nothing per event.
        self._done = 0
        self._size = 0
        self._active = 0
        self._rate = 0.0  # of the files uploading now

    def load(
        self,
        items: list[QueuedFile],
        derived: list[DerivedJob] = (),
        sent: dict[str, int] | None = None,
    ) -> None:
        """`sent`: bytes already in storage of unfinished multipart uploads, by file id."""
        jobs = {job.file_id: job for job in derived}
        sent = sent or {}
        self.beginResetModel()
        self.rows = [
            Row(
                i.file_id,
                i.rel_path,
                i.size,
                i.size if i.state == UploadState.STORED else sent.get(i.file_id, 0),
                0.0,
                None,
                i.state,
                i.error,
                jobs.get(i.file_id),
            )
            for i in items
        ]
        self._index = {row.file_id: n for n, row in enumerate(self.rows)}
        counted = [r for r in self.rows if r.state != UploadState.CANCELLED]
        self._done = sum(r.done for r in counted)
        self._size = sum(r.size for r in counted)
        self._active = sum(r.state in ACTIVE_STATES for r in self.rows)
        self._rate = 0.0  # rows read from the queue have no rate yet
        self.endResetModel()

    def update(self, event: FileProgress) -> None:
        self.apply([event])

    def apply(self, events: list[FileProgress]) -> None:
        """Many events at once: one insert for the new files, one change for the rest (a burst
        of a thousand files must not cost the UI thread a thousand layouts)."""
        new, seen = [], set()
        for event in events:
            if event.file_id not in self._index and event.file_id not in seen:
                seen.add(event.file_id)
                new.append(event)
        if new:
            start = len(self.rows)
            self.beginInsertRows(ROOT, start, start + len(new) - 1)
            for offset, event in enumerate(new):
                self.rows.append(Row(event.file_id, event.path, event.size, 0, 0.0, None, "", ""))
                self._index[event.file_id] = start + offset
                self._size += event.size
            self.endInsertRows()
        first, last = len(self.rows), -1
        for event in events:
            position = self._index[event.file_id]
            row = self.rows[position]
            # Cancelled files leave the total: "everything queued" could never reach 100 %.
            was, now = _counted(row.state, row.size), _counted(event.state, event.size)
            self._size += now - was
            self._done += (event.bytes_done if now else 0) - (row.done if was else 0)
            self._active += (event.state in ACTIVE_STATES) - (row.state in ACTIVE_STATES)
            # A stored file keeps the rate it went at (a one-PUT file has no other to show).
            rate = event.rate or (row.rate if event.state == UploadState.STORED else 0.0)
            self._rate += _uploading_rate(event.state, rate) - _uploading_rate(row.state, row.rate)
            row.done, row.rate, row.eta = event.bytes_done, rate, event.eta
            row.state, row.error = event.state, event.error
            first, last = min(first, position), max(last, position)
        if last >= 0:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def update_derived(self, job: DerivedJob) -> None:
        position = self._index.get(job.file_id)
        if position is None:
            return
        self.rows[position].derived = job
        last = len(COLUMNS) - 1
        self.dataChanged.emit(self.index(position, last), self.index(position, last))

    def totals(self) -> tuple[int, int]:
        """Bytes stored and bytes queued, cancelled files left out."""
        return self._done, self._size

    def rate(self) -> float:
        """Bytes per second of the files uploading now."""
        return max(self._rate, 0.0)

    def state(self, file_id: str) -> str:
        position = self._index.get(file_id)
        return self.rows[position].state if position is not None else ""

    def active(self) -> int:
        """Files queued, uploading or waiting for the network."""
        return self._active

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = COLUMNS[index.column()]
        if role == FILE_ID_ROLE:
            return row.file_id
        if role == DERIVED_ROLE:
            return row.derived
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == "NXem" and row.derived is not None:
                job = row.derived
                return job.error or job.lacking or "Double-click for the validator's report."
            return row.error or row.path
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if column == "File":
            return row.path
        if column == "Size":
            return human_size(row.size)
        if column == "Progress":
            return f"{100 * row.done / row.size:.0f} %" if row.size else "100 %"
        if column == "Rate":
            shown = row.state in (UploadState.UPLOADING, UploadState.STORED)
            return f"{human_size(row.rate)}/s" if row.rate and shown else ""
        if column == "ETA":
            return _eta(row.eta) if row.state == UploadState.UPLOADING else ""
        if column == "NXem":
            return row.derived.verdict if row.derived is not None else ""
        return row.state
