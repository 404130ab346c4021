"""The one error family of the NXem engine: every message names the file and says what to do."""

from __future__ import annotations

from pathlib import Path


class NexusEngineError(Exception):
    """Base of every error the engine raises on bad input (never a bare traceback to users)."""


class SourceReadError(NexusEngineError):
    """The input is not an image file we can read (empty, truncated, corrupt, unsupported)."""


class TiffReadError(SourceReadError):
    """The input is not a TIFF we can read (empty, truncated, corrupt, unsupported)."""


def require_content(path: Path, error: type[SourceReadError]) -> None:
    """Before a reader opens `path`: a file that cannot be opened or is empty (a copy that
    failed, a share that dropped) is named as such, not as a corrupt image."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise error(f"{path}: cannot be opened ({exc.strerror}).") from exc
    if size == 0:
        raise error(f"{path.name} is empty (0 bytes); copy the file again from the source.")


class MappingError(NexusEngineError):
    """A mapping file is malformed; the message names the file and the entry."""


class ConversionError(NexusEngineError):
    """Writing the NeXus file failed (disk full, permissions); nothing half-written is left."""
