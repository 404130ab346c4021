"""Table model of one bucket prefix: folders, then objects, loaded a page at a time on a worker.

Qt asks for more rows (`canFetchMore`/`fetchMore`) as the view scrolls, so a prefix of 100k objects
shows its first page at once and never holds the UI thread. Sorting is done by a proxy on what is
loaded (folders stay on top).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QApplication, QStyle

from lamefair_desktop.catalog.client import CatalogClient
from lamefair_desktop.ui.format import human_size
from lamefair_desktop.ui.look import problem_colour
from lamefair_desktop.ui.models.table_model import ColumnsTableModel
from lamefair_desktop.workers.job import Job
from lamefair_desktop.workers.pools import general_pool

COLUMNS = ("Name", "Size", "Modified", "Verified")
# The catalog's last fixity check of an object (lamefair_catalog/domain/fixity.py), in words.
FIXITY_WORDS = {"mismatch": "mismatch!", "missing": "missing!", "error": "unreadable"}
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
ROOT = QModelIndex()
PAGE = 1000


@dataclass(frozen=True)
class Entry:
    name: str
    key: str  # the full key, or the folder's prefix ending in "/"
    is_folder: bool
    size: int = 0
    modified: str = ""
    sha256: str | None = None
    verified_at: str = ""  # the catalog's last fixity check, ISO time; "" when never
    fixity: str | None = None  # its result: ok, mismatch, missing, error
    thumbnail: str | None = None  # the derived file whose thumbnail shows it (the grid view)
    thumbnail_sha256: str = ""

    @property
    def verified(self) -> str:
        """What the Verified column says: the date of a good check, or what went wrong."""
        if self.is_folder or self.sha256 is None:
            return ""  # folders, and objects the catalog does not know
        if self.fixity in FIXITY_WORDS:
            return FIXITY_WORDS[self.fixity]
        return self.verified_at[:16].replace("T", " ") if self.verified_at else "not yet"


@dataclass(frozen=True)
class Page:
    bucket: str
    prefix: str
    entries: tuple[Entry, ...]
    next_cursor: str | None


def fetch_page(
    client: CatalogClient, bucket: str, prefix: str, cursor: str | None, limit: int = PAGE
) -> Page:
    listing = client.list_objects(bucket, prefix, cursor, limit)
    folders = [
        Entry(folder[len(prefix) :].rstrip("/"), folder, True) for folder in listing["folders"]
    ]
    objects = [
        Entry(
            o["name"],
            o["key"],
            False,
            o["size"],
            o["modified"],
            o.get("sha256"),
            o.get("verified_at") or "",
            o.get("fixity"),
            str(o["thumbnail"]) if o.get("thumbnail") else None,
            o.get("thumbnail_sha256") or "",
        )
        for o in listing["objects"]
    ]
    return Page(bucket, prefix, tuple(folders + objects), listing.get("next_cursor"))


SHOWN_PROBLEMS = 3


def fixity_text(summary: dict) -> tuple[str, bool]:
    """The proposal's fixity line (lamefair_catalog's /api/proposals/<id>/fixity), and whether
    it reports a problem."""
    problems = summary.get("problems") or []
    if problems:
        named = ", ".join(f"{p['path']} ({p['result']})" for p in problems[:SHOWN_PROBLEMS])
        more = (
            f" and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
        )
        return (
            f"Fixity: {len(problems)} stored object(s) of this proposal failed the catalog's "
            f"check: {named}{more}. Tell the catalog's administrators.",
            True,
        )
    objects, unchecked = summary.get("objects", 0), summary.get("unchecked", 0)
    if not objects:
        return "", False
    if unchecked:
        return f"Fixity: {unchecked} of {objects} stored object(s) not verified yet.", False
    since = (summary.get("all_checked_since") or "")[:16].replace("T", " ")
    return f"Fixity: all {objects} stored object(s) verified, the oldest check {since} UTC.", False


class BucketModel(ColumnsTableModel):
    columns = COLUMNS
    page_loaded = Signal(int)  # rows now loaded
    load_failed = Signal(str)

    def __init__(self, parent=None, page_size: int = PAGE) -> None:
        super().__init__(parent)
        self.page_size = page_size
        self.client: CatalogClient | None = None
        self.bucket = ""
        self.prefix = ""
        self._cursor: str | None = None
        self._more = False
        self._loading = False
        self._generation = 0
        self._jobs: set[Job] = set()

    def open(self, client: CatalogClient, bucket: str, prefix: str = "") -> None:
        """Show `bucket/prefix` from its first page."""
        self.beginResetModel()
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self.rows, self._cursor, self._more, self._loading = [], None, True, False
        self._generation += 1
        self.endResetModel()
        self.fetchMore(ROOT)

    def canFetchMore(self, parent: QModelIndex = ROOT) -> bool:  # noqa: N802
        return not parent.isValid() and self._more and not self._loading

    def fetchMore(self, parent: QModelIndex = ROOT) -> None:  # noqa: N802
        if not self.canFetchMore(parent) or self.client is None:
            return
        self._loading = True
        client, bucket, prefix, cursor = self.client, self.bucket, self.prefix, self._cursor
        generation, limit = self._generation, self.page_size
        job = Job(lambda report, cancel: fetch_page(client, bucket, prefix, cursor, limit))
        self._jobs.add(job)
        job.signals.finished.connect(lambda page, j=job: self._loaded(page, generation, j))
        job.signals.failed.connect(lambda message, _d, j=job: self._failed(message, generation, j))
        job.start_on(general_pool())

    def _loaded(self, page: Page, generation: int, job: Job) -> None:
        self._jobs.discard(job)
        if generation != self._generation:
            return  # the user went elsewhere meanwhile
        self._loading = False
        self._cursor, self._more = page.next_cursor, bool(page.next_cursor)
        if page.entries:
            start = len(self.rows)
            self.beginInsertRows(ROOT, start, start + len(page.entries) - 1)
            self.rows.extend(page.entries)
            self.endInsertRows()
        self.page_loaded.emit(len(self.rows))

    def _failed(self, message: str, generation: int, job: Job) -> None:
        self._jobs.discard(job)
        if generation == self._generation:
            self._loading, self._more = False, False
            self.load_failed.emit(message)

    def entry(self, index: QModelIndex) -> Entry:
        return self.rows[index.row()]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        entry = self.rows[index.row()]
        column = index.column()
        if role == ENTRY_ROLE:
            return entry
        if role == SORT_ROLE:  # folders first, then by the column's value
            value = (entry.name.lower(), entry.size, entry.modified, entry.verified)[column]
            return (0 if entry.is_folder else 1, value)
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            icon = (
                QStyle.StandardPixmap.SP_DirIcon
                if entry.is_folder
                else QStyle.StandardPixmap.SP_FileIcon
            )
            return QApplication.style().standardIcon(icon)
        if role == Qt.ItemDataRole.ForegroundRole and column == 3 and entry.fixity in FIXITY_WORDS:
            return QBrush(problem_colour())  # asked at paint time: follows a palette switch
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                entry.key
                + (f"\nSHA-256 {entry.sha256}" if entry.sha256 else "")
                + (
                    f"\nLast fixity check {entry.verified_at[:19].replace('T', ' ')} UTC: "
                    f"{entry.fixity}"
                    if entry.verified_at
                    else ""
                )
            )
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if column == 0:
            return entry.name + ("/" if entry.is_folder else "")
        if column == 1:
            return "" if entry.is_folder else human_size(entry.size)
        if column == 3:
            return entry.verified
        return entry.modified[:19].replace("T", " ")


class BucketSortModel(QSortFilterProxyModel):
    """Sorts what is loaded by name, size or date, folders always first."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:  # noqa: N802
        (left_kind, left_value), (right_kind, right_value) = (
            left.data(SORT_ROLE),
            right.data(SORT_ROLE),
        )
        if left_kind != right_kind:
            folders_first = left_kind < right_kind
            ascending = self.sortOrder() == Qt.SortOrder.AscendingOrder
            return folders_first if ascending else not folders_first
        return left_value < right_value
