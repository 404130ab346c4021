"""The one error family of the NXem engine: every message names the file and says what to do."""

from __future__ import annotations


class NexusEngineError(Exception):
    """Base of every error the engine raises on bad input (never a bare traceback to users)."""


class SourceReadError(NexusEngineError):
    """The input is not an image file we can read (empty, truncated, corrupt, unsupported)."""


class TiffReadError(SourceReadError):
    """The input is not a TIFF we can read (empty, truncated, corrupt, unsupported)."""


class MappingError(NexusEngineError):
    """A mapping file is malformed; the message names the file and the entry."""


class ConversionError(NexusEngineError):
    """Writing the NeXus file failed (disk full, permissions); nothing half-written is left."""
