"""Why an upload stopped, as exceptions the upload engine turns into queue states."""

from __future__ import annotations


class UploadError(Exception):
    """A file cannot be uploaded as it is; the message says which and what to do."""


class SourceChanged(UploadError):
    """The file on disk is no longer the one registered: the upload can never complete, so the
    catalog is told to abort it (a row `uploading` for ever, parts left in S3, otherwise)."""


class Paused(Exception):
    pass


class Interrupted(UploadError):
    """The run was asked to stop (the app quits) before a part was sent: the file is not
    broken, it goes back to the queue and resumes from its recorded parts next time."""
