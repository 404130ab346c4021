"""Logging for the commands: one short line per library warning on stderr, everything in a file.

Without it, tifffile's complaints about an odd tag reach stderr raw (logging's last-resort
handler: no level, no file name) and Python warnings arrive as `path:line: UserWarning: ...` with
a source line. Here every record goes through one configured pair of handlers:
- stderr: `warning: FILE: LIBRARY: message`, where FILE is the input being worked on (see
  `working_on`); WARNING and above, INFO with -v, DEBUG with -vv. A library's record never says
  "error": whether the command failed is lamefair's to say (its own `error:` lines, the exit code).
- `cli.log` in the log folder, rotated (log_files): INFO and above with time, process and logger,
  tracebacks included, whatever -v says; what support asks for.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from lamefair_desktop.home.log_files import log_to_file

_working_on: ContextVar[str | None] = ContextVar("working_on", default=None)
FILE_ONLY = {"file_only": True}  # `extra=` for records meant for the log file alone (crash dumps)


@contextlib.contextmanager
def working_on(path: Path | str) -> Iterator[None]:
    """Name `path` in the warnings logged meanwhile (this thread): `warning: a.tif: ...`."""
    token = _working_on.set(Path(path).name)
    try:
        yield
    finally:
        _working_on.reset(token)


class _ConsoleFormatter(logging.Formatter):
    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        ours = record.name == "lamefair" or record.name.startswith("lamefair")
        if record.levelno >= logging.ERROR and ours:
            level = "error"
        elif record.levelno >= logging.WARNING:
            level = "warning"
        else:
            level = logging.getLevelName(record.levelno).lower()
        parts = [f"{level}:"]
        if (subject := _working_on.get()) is not None:
            parts.append(f"{subject}:")
        if not ours and record.name != "py.warnings":  # a warning names its module itself
            parts.append(f"{record.name.split('.')[0]}:")
        parts.append(" ".join(record.getMessage().split()))  # one line, whatever it held
        text = " ".join(parts)
        if self.verbose and record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """What `warnings.captureWarnings` logs (as logger `py.warnings`): the module that warned and
    the message, without the source line and the category's dump."""
    return f"{Path(filename).stem}: {message} ({category.__name__})"


def configure(verbosity: int = 0) -> Path | None:
    """Route every logger and Python warning of this process through the two handlers."""
    root = logging.getLogger()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel({0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG))
    console.setFormatter(_ConsoleFormatter(verbose=verbosity > 0))
    console.addFilter(lambda record: not getattr(record, "file_only", False))
    root.addHandler(console)
    root.setLevel(min(console.level, logging.INFO))
    try:
        path: Path | None = log_to_file("cli.log", logging.INFO)
    except OSError as exc:  # a read-only or full log folder must not stop the command
        logging.getLogger("lamefair").warning("no log file (%s); logging to stderr only", exc)
        path = None
    if verbosity < 2:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request: -vv only
        logging.getLogger("httpcore").setLevel(logging.WARNING)
    warnings.formatwarning = _one_line_warning
    logging.captureWarnings(True)
    return path
