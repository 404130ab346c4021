"""The states of a file in the upload queue and of its conversion, as enums (like the catalog
tree's LoadState).

The values are the strings stored in the `uploads.state` and `derived_jobs.state` columns of
installed PCs: never change one. A StrEnum compares equal to its string, so rows read back as plain strings still match.
"""

from __future__ import annotations

from enum import StrEnum


class UploadState(StrEnum):
    QUEUED = "queued"  # registered, waiting for a free upload slot
    UPLOADING = "uploading"
    WAITING = "waiting"  # the network or the catalog is down: retried, parts kept
    SIGNIN = "signin"  # the session expired: resumes after the next sign-in
    PAUSED = "paused"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STORED = "stored"


ACTIVE_STATES = (UploadState.QUEUED, UploadState.UPLOADING, UploadState.WAITING)
FINAL_STATES = (UploadState.STORED, UploadState.FAILED, UploadState.CANCELLED)

# What one run of a file can end in besides a stored state (returned, never written to the queue).
SENT = "sent"  # the bytes are in S3; the batch completes it with the others
ELSEWHERE = "elsewhere"  # another process on this data folder holds the file now


class ConversionState(StrEnum):
    """A raw TIFF's derived NXem file (the `derived_jobs` queue)."""

    WAITING = "waiting"  # for its raw file to be stored
    OFFLINE = "offline"  # the catalog or storage was unreachable: tried again
    CONVERTING = "converting"
    UPLOADING = "uploading"  # converted; the NXem file is being stored
    STORED = "stored"
    FAILED = "failed"
    SKIPPED = "skipped"  # its raw upload failed or was cancelled


CONVERSION_ACTIVE = (
    ConversionState.WAITING,
    ConversionState.OFFLINE,
    ConversionState.CONVERTING,
    ConversionState.UPLOADING,
)
CONVERSION_FINAL = (ConversionState.STORED, ConversionState.FAILED, ConversionState.SKIPPED)
