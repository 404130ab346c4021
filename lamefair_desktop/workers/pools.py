"""Thread pools by purpose, each sized for its reason (Picard's rule).

- general: catalog calls, listings, reads of the local queues, downloads and previews. Short
  jobs mostly; 4 threads so a slow request does not hold up the rest.
- thumbnails: fetching and rendering small PNGs for the grid, the tree's hover, the details
  pane and the upload dialog; 2 threads, so a page of 1,000 pictures never queues ahead of the
  catalog calls of the general pool.
- registration: new files settling and being registered (by size: nothing is read; a file still
  being written is waited for); its threads run at a lower priority (workers/job.py).
Uploads, conversions and watch folders do not run here: they run in the engines' own process
(workers/engine_worker.py), so they never compete with the window for the interpreter.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QThreadPool


@cache
def general_pool() -> QThreadPool:
    pool = QThreadPool()
    pool.setObjectName("general")
    pool.setMaxThreadCount(4)
    return pool


@cache
def thumbnail_pool() -> QThreadPool:
    pool = QThreadPool()
    pool.setObjectName("thumbnails")
    pool.setMaxThreadCount(2)
    return pool


@cache
def registration_pool() -> QThreadPool:
    pool = QThreadPool()
    pool.setObjectName("registration")
    pool.setMaxThreadCount(2)
    return pool


def all_pools() -> list[QThreadPool]:
    return [general_pool(), thumbnail_pool(), registration_pool()]
