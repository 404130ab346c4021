"""Thumbnails for the window's views: asked for by key, fetched or rendered on the thumbnail pool
(home/thumbnail_cache.py does the I/O), announced with `ready(key)` once they are here.

Only PNG bytes cross back from the worker; the pixmap is made on the UI thread (QPixmap belongs to
it). A key is asked for once at a time; one that has no thumbnail (not an image, none stored yet)
is remembered as None so a view scrolling past it does not ask again. The pixmaps kept in memory
are bounded (least recently used out).
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPixmap

from lamefair_desktop.nexus.thumbnail import render_thumbnail
from lamefair_desktop.transfer.thumbnail_cache import ThumbnailCache, thumbnail_dir
from lamefair_desktop.workers.job import JobGroup
from lamefair_desktop.workers.pools import thumbnail_pool

KEPT = 600  # pixmaps in memory: two pages of a grid and the hovers around them
NONE = object()  # asked, and there is none


class ThumbnailIcons(QObject):
    ready = Signal(str)  # a key whose answer arrived (a pixmap, or that there is none)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache: ThumbnailCache | None = None
        self._known: OrderedDict[str, object] = OrderedDict()  # key -> (QPixmap, bytes) or NONE
        self._asked: set[str] = set()
        self._jobs = JobGroup(lambda _message: None)  # failures are answered per key

    def attach(self, cache: ThumbnailCache) -> None:
        if self.cache is not None:
            self.cache.close()
        self.cache = cache
        self._known.clear()

    def ensure(self, client, settings) -> None:
        """Use the workspace's client and cache folder (once per client: the views share one)."""
        if self.cache is None or self.cache.client is not client:
            self.attach(ThumbnailCache(thumbnail_dir(settings), client))

    def known(self, key: str) -> bool:
        return key in self._known

    def pixmap(self, key: str) -> QPixmap | None:
        entry = self._known.get(key)
        if entry is None or entry is NONE:
            return None
        self._known.move_to_end(key)
        return entry[0]

    def png(self, key: str) -> bytes | None:
        entry = self._known.get(key)
        return None if entry is None or entry is NONE else entry[1]

    def html(self, key: str, side: int = 192) -> str:
        """An <img> of the thumbnail for rich text (tooltips), "" when there is none here."""
        png = self.png(key)
        if png is None:
            return ""
        return (
            f'<br><img src="data:image/png;base64,{base64.b64encode(png).decode()}" width="{side}">'
        )

    def request(
        self, key: str, work: Callable[[ThumbnailCache | None], bytes | None]
    ) -> QPixmap | None:
        """The pixmap if here; else None, and `work(cache)` runs on the thumbnail pool once
        (`cache` is None before a workspace is attached: local renders need none)."""
        if key in self._known:
            return self.pixmap(key)
        if key in self._asked:
            return None
        self._asked.add(key)
        cache = self.cache
        self._jobs.run(
            lambda: work(cache),
            lambda png, k=key: self._arrived(k, png),
            lambda _message, _details, k=key: self._arrived(k, None),
            pool=thumbnail_pool(),
        )
        return None

    def remote(self, derived_id: str, sha256: str) -> QPixmap | None:
        return self.request(
            remote_key(derived_id, sha256),
            lambda c: c.remote(derived_id, sha256) if c is not None else None,
        )

    def local(self, source: str) -> QPixmap | None:
        """A local image's thumbnail, rendered from its first frame (the upload dialog)."""
        return self.request(
            f"local:{source}",
            lambda c: c.local(source) if c is not None else render_thumbnail(source),
        )

    def _arrived(self, key: str, png: bytes | None) -> None:
        self._asked.discard(key)
        pixmap = QPixmap()
        if png and pixmap.loadFromData(png, "PNG"):
            self._known[key] = (pixmap, png)
        else:
            self._known[key] = NONE
        while len(self._known) > KEPT:
            self._known.popitem(last=False)
        self.ready.emit(key)


def remote_key(derived_id: str, sha256: str) -> str:
    """The key of a derived file's stored thumbnail (`sha256` versions it: see the cache)."""
    return f"derived:{derived_id}:{sha256}"


def file_key(file: dict) -> str:
    """The key of a catalog file record's thumbnail (its id: the cache finds the NXem's)."""
    return f"file:{file.get('id')}"


def squared(pixmap: QPixmap, side: int) -> QPixmap:
    """Scaled into a transparent `side` square, centred: every grid cell has one geometry (a
    wide picture's name was drawn over it)."""
    picture = scaled(pixmap, side)
    square = QPixmap(side, side)
    square.fill(Qt.GlobalColor.transparent)
    painter = QPainter(square)
    painter.drawPixmap((side - picture.width()) // 2, (side - picture.height()) // 2, picture)
    painter.end()
    return square


def scaled(pixmap: QPixmap, side: int) -> QPixmap:
    return pixmap.scaled(
        QSize(side, side),
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
