"""The log files in the platformdirs log folder: one per kind of process, rotated by size.

- `lamefair.log`: the window; `engines.log`: the engines' process; `cli.log`: the commands.
  A file per kind keeps what support reads short and lets each be found by what it is about.
- Rotated by size so that a PC that watches a folder for months keeps a bounded log: at
  `MAX_BYTES` the file becomes `NAME.1` (the older ones shift up) and at most `BACKUPS` old files
  are kept, so a kind of process never takes more than (BACKUPS + 1) x MAX_BYTES.
- Several processes may write one file: two `lamefair` commands started by a script, or a
  `lamefair watch` service and an operator's `lamefair ls`. The standard RotatingFileHandler is not
  safe there (one process renames the file under the other, which then writes into the backup and
  rotates again; on Windows the rename fails while the other has the file open and every record
  prints a logging error). concurrent-log-handler's drop-in subclass takes a lock file
  (`.__NAME.lock`, via portalocker) around each write and each rotation, so records are never
  interleaved mid-line, rotation happens once, and nothing is lost or duplicated.
"""

from __future__ import annotations

import logging
from pathlib import Path

from concurrent_log_handler import ConcurrentRotatingFileHandler

from lamefair_desktop.home import paths

# 5 MB holds about 40,000 lines: weeks of a busy watch folder at INFO (a line or two per file).
MAX_BYTES = 5 * 1024 * 1024
# Five old files: a month or more of history for a support request, 30 MB at most per kind.
BACKUPS = 5
LINE_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"


def rotating_handler(name: str) -> logging.Handler:
    """A handler writing `<log dir>/name`, rotated at MAX_BYTES, BACKUPS old files kept."""
    handler = ConcurrentRotatingFileHandler(
        str(paths.log_dir() / name), maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(LINE_FORMAT))
    return handler


def log_to_file(name: str, level: int = logging.INFO) -> Path:
    """Send the root logger's records of `level` and above to `<log dir>/name` (once)."""
    path = (paths.log_dir() / name).absolute()
    root = logging.getLogger()
    if not any(getattr(h, "baseFilename", None) == str(path) for h in root.handlers):
        handler = rotating_handler(name)
        handler.setLevel(level)
        root.addHandler(handler)
    if root.level > level:
        root.setLevel(level)
    return path
