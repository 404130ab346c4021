"""Copy an image's stored bytes from the source file into its HDF5 dataset, in the kernel, on a
thread, while the entry's metadata is written.

A TIFF frame stored uncompressed, in one run and in this machine's byte order (most SEM and TEM
files) holds exactly the bytes its contiguous HDF5 dataset will hold. Decoding it into a 32 MiB
array and writing that array again costs two copies through Python (read ~11 ms, write ~10 ms for
4096 x 4096 uint16) on the thread that also writes ~130 metadata objects. Here the dataset's
space is allocated when it is created (never filled), and `os.copy_file_range` moves the bytes
from file to file (one copy in the kernel, no array, the GIL released) while the metadata is
written: the image costs the conversion little more than its own copy's wall time.

Only where `os.copy_file_range` exists (Linux): elsewhere, and for every other layout, frames go
through numpy as before. A file system that refuses the call (EXDEV between two file systems,
EOPNOTSUPP...) gets the same copy through `os.preadv`/`os.pwrite` on the thread, into one reused
buffer. The caller checks after the conversion that the source did not change (size, mtime,
ctime), as for every conversion.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path

from lamefair_desktop.nexus.errors import TiffReadError

AVAILABLE = hasattr(os, "copy_file_range")
# The fallback's buffer, reused: each read and write takes the GIL back, which can wait a switch
# interval (5 ms) while the converting thread runs Python, so few large steps, not many small.
_STEP = 8 * 1024 * 1024
_REFUSED = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EPERM, errno.EBADF}


class FrameCopy:
    """`count` bytes of `source` from `offset` to `target` at `target_offset`, on a thread.

    `join()` waits and raises what went wrong: TiffReadError when the source holds fewer bytes
    than its header states (truncated), OSError for the target (e.g. ENOSPC); after a complete
    copy it calls `done()` (the conversion's progress), on the joining thread."""

    def __init__(
        self,
        source: Path,
        offset: int,
        count: int,
        target: str | Path,
        target_offset: int,
        done: Callable[[], None] | None = None,
    ) -> None:
        self._args = (Path(source), offset, count, Path(target), target_offset)
        self._done = done
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="lamefair-frame-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            _copy(*self._args)
        except BaseException as exc:  # noqa: BLE001 - raised on the converting thread in join()
            self._error = exc

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._done is not None:
            self._done()


def _copy(source: Path, offset: int, count: int, target: Path, target_offset: int) -> None:
    copied = 0
    with open(source, "rb", buffering=0) as src, open(target, "r+b", buffering=0) as dst:
        fallback = False
        buffer: memoryview | None = None  # the fallback's, reused: a new one per read page-faults
        while copied < count:
            if not fallback:
                try:
                    step = os.copy_file_range(
                        src.fileno(),
                        dst.fileno(),
                        count - copied,
                        offset + copied,
                        target_offset + copied,
                    )
                except OSError as exc:
                    if exc.errno not in _REFUSED or copied:
                        raise
                    fallback = True
                    continue
            else:
                if buffer is None:
                    buffer = memoryview(bytearray(min(_STEP, count)))
                piece = buffer[: min(len(buffer), count - copied)]
                step = os.preadv(src.fileno(), [piece], offset + copied)
                written = 0
                while written < step:
                    written += os.pwrite(
                        dst.fileno(), piece[written:step], target_offset + copied + written
                    )
            if step == 0:
                raise TiffReadError(
                    f"{source.name}: frame 1 cannot be read (the file ends after {offset + copied}"
                    f" bytes, its header places {count} bytes of image at {offset}); the file may "
                    "be truncated or damaged."
                )
            copied += step
