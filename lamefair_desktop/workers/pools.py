"""Thread pools by purpose, each sized for its reason (Picard's rule).

- general: catalog calls, listings, starting the local server. Short jobs; 4 threads so a slow
  request does not hold up the rest.
- conversion: TIFF -> NXem. CPU- and disk-bound; one at a time keeps memory bounded (a stack can
  be large) and leaves a core for the UI and the transfers.
- registration: hashing new files before they are queued (a 1 GiB file takes seconds); its
  threads run at a lower priority, like the transfers and conversions (workers/job.py).
- watch: the watch folders' scan loop, at a lower priority too.
The transfer engine runs its own worker threads inside a single job (see workers/transfer_worker).
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
def conversion_pool() -> QThreadPool:
    pool = QThreadPool()
    pool.setObjectName("conversion")
    pool.setMaxThreadCount(1)
    return pool


@cache
def transfers_pool() -> QThreadPool:
    """One thread: one upload run at a time (the engine runs its parts and files in parallel
    inside that run, with its own bounded threads)."""
    pool = QThreadPool()
    pool.setObjectName("transfers")
    pool.setMaxThreadCount(1)
    return pool


@cache
def registration_pool() -> QThreadPool:
    pool = QThreadPool()
    pool.setObjectName("registration")
    pool.setMaxThreadCount(2)
    return pool


@cache
def watch_pool() -> QThreadPool:
    """One thread for the watch service's scan loop (it registers what settles)."""
    pool = QThreadPool()
    pool.setObjectName("watch")
    pool.setMaxThreadCount(1)
    return pool


def all_pools() -> list[QThreadPool]:
    return [general_pool(), conversion_pool(), transfers_pool(), registration_pool(), watch_pool()]
