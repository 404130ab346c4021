"""Transfer progress for the commands: a live row per file in flight on a terminal, plain lines
when piped.

On a terminal (rich.progress): one row per file being sent or fetched, with its bar, bytes,
speed and time left; several files in flight each keep their own row (a `\\r` line of our own
was overwritten by whichever file reported last). When a file reaches a state that ends its
row (stored, failed, waiting...), the row goes and a plain `state: file` line stays above the
live rows. Anything else printed meanwhile also lands above them (rich redirects stdout).

Piped (what scripts and tests read): one `state: file [detail]` line per change of state, no
bars, no escape codes.
"""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console

# States after which a file has no row any more (its transfer stopped, for good or for now).
ROW_ENDS = {"stored", "verified", "failed", "cancelled", "waiting", "elsewhere", "signin", "paused"}
LABEL_WIDTH = 40


class TransferProgress:
    """Receives (file, bytes done, size, state, detail) from any thread; use it as a context
    manager so that the live rows end and the cursor comes back whatever happens."""

    def __init__(self, console: Console | None = None, get_time=None) -> None:
        self.console = console or Console(highlight=False, emoji=False)
        self.live = self.console.is_terminal and not self.console.is_dumb_terminal
        self._bars = _bars(self.console, get_time) if self.live else None
        self._rows: dict[str, int] = {}  # rich's TaskID per file in flight
        self._last_state: dict[str, str] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> TransferProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._bars and self._bars.live.is_started:  # else an empty line is printed
                self._bars.stop()

    def progress(self, label: str, done: int, size: int | None, state: str, extra: str = ""):
        with self._lock:
            changed = self._last_state.get(label) != state
            self._last_state[label] = state
            if not self.live or state in ROW_ENDS:
                self._end_row(label)
                if changed:
                    line = f"{state}: {label} {extra}".rstrip()
                    if self.live:  # through rich, which keeps the live rows below it
                        self.console.print(line, markup=False, highlight=False, soft_wrap=True)
                    else:  # piped: a plain line (rich's rendering of each cost 8 % of an upload)
                        self.console.file.write(line + "\n")
                        self.console.file.flush()
                return
            row = self._rows.get(label)
            if row is None:
                self._bars.start()  # a no-op while it runs
                row = self._bars.add_task(_short(label), total=size, state=state)
                self._rows[label] = row
            self._bars.update(row, completed=done, total=size, state=state)

    def _end_row(self, label: str) -> None:
        row = self._rows.pop(label, None)
        if row is not None and self._bars:
            self._bars.remove_task(row)
            self._bars.refresh()  # else the line printed next is drawn above the stale row


def _bars(console: Console, get_time):
    """The live rows (rich.progress is imported only on a terminal: piped runs never draw)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[state]}"),
        console=console,
        get_time=get_time,
        transient=True,  # the rows go at the end; the plain lines above them stay
    )


def _short(label: str) -> str:
    """The end of a long path (the file name matters most), padded so the bars line up."""
    if len(label) > LABEL_WIDTH:
        label = "…" + label[-(LABEL_WIDTH - 1) :]
    return f"{label:<{LABEL_WIDTH}}".replace("[", r"\[")
