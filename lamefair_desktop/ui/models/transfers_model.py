"""Table model of the upload queue: one row per file, updated from the engine's progress events.

Rows come from the durable queue first (so the panel shows what survived a restart), then follow
`FileProgress` events keyed by file id.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from lamefair_desktop.transfer.queue import QueuedFile
from lamefair_desktop.transfer.upload import FileProgress

COLUMNS = ("File", "Size", "Progress", "Rate", "ETA", "State")
FILE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
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


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return ""


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TransfersModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[Row] = []
        self._index: dict[str, int] = {}

    def load(self, items: list[QueuedFile]) -> None:
        self.beginResetModel()
        self.rows = [
            Row(
                i.file_id,
                i.rel_path,
                i.size,
                i.size if i.state == "stored" else 0,
                0.0,
                None,
                i.state,
                i.error,
            )
            for i in items
        ]
        self._index = {row.file_id: n for n, row in enumerate(self.rows)}
        self.endResetModel()

    def update(self, event: FileProgress) -> None:
        position = self._index.get(event.file_id)
        if position is None:
            position = len(self.rows)
            self.beginInsertRows(ROOT, position, position)
            self.rows.append(Row(event.file_id, event.path, event.size, 0, 0.0, None, "", ""))
            self._index[event.file_id] = position
            self.endInsertRows()
        row = self.rows[position]
        row.done, row.rate, row.eta = event.bytes_done, event.rate, event.eta
        row.state, row.error = event.state, event.error
        self.dataChanged.emit(self.index(position, 0), self.index(position, len(COLUMNS) - 1))

    def totals(self) -> tuple[int, int]:
        return sum(r.done for r in self.rows), sum(r.size for r in self.rows)

    def rowCount(self, parent: QModelIndex = ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = COLUMNS[index.column()]
        if role == FILE_ID_ROLE:
            return row.file_id
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.error or row.path
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if column == "File":
            return row.path
        if column == "Size":
            return _size(row.size)
        if column == "Progress":
            return f"{100 * row.done / row.size:.0f} %" if row.size else "100 %"
        if column == "Rate":
            return f"{_size(row.rate)}/s" if row.rate and row.state == "uploading" else ""
        if column == "ETA":
            return _eta(row.eta) if row.state == "uploading" else ""
        return row.state
