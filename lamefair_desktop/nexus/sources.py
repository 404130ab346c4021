"""Open any supported image file with its reader, chosen by suffix (`formats.py` names them).

The TIFF reader is imported with this module (conversions time the work, not the imports);
rosettasciio's readers only when a .dm3/.dm4/.emd file is opened, as they are an optional extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lamefair_desktop.nexus.formats import is_native
from lamefair_desktop.nexus.tiff_reader import open_tiff


def open_source(path: str | Path) -> Any:
    """The reader for `path`: a TiffSource, or a NativeSource for .dm3/.dm4/.emd files. Both are
    context managers with the same attributes (frames, calibration, metadata, extra images)."""
    if is_native(path):
        from lamefair_desktop.nexus.native_reader import open_native

        return open_native(path)
    return open_tiff(path)
