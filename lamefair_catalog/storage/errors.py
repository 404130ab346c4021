"""What goes wrong with object storage, in messages safe to show (no keys, no signatures)."""

from __future__ import annotations

from botocore.exceptions import ClientError, HTTPClientError, SSLError
from botocore.exceptions import ConnectionError as BotoConnectionError


class StorageError(RuntimeError):
    """S3 failed or refused; the message is safe to show (no keys, no signatures). `code` is S3's
    error code when S3 answered with one ("NoSuchKey"), for callers that expect some."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class ObjectTooLarge(StorageError):
    def __init__(self, key: str, size: int, limit: int) -> None:
        super().__init__(f"{key} has {size} bytes, more than the {limit} this catalog reads.")
        self.size, self.limit = size, limit


class StorageNotAnswering(StorageError):
    """Refused without asking S3: it stopped answering moments ago (see `breaker`)."""


def not_answering(exc: BaseException) -> bool:
    """S3 did not answer at all (refused, timed out, cut off), as opposed to answering an error.
    A certificate problem is configuration, not an outage: its own message says what to do."""
    return isinstance(exc, (BotoConnectionError, HTTPClientError)) and not isinstance(exc, SSLError)


def storage_error(action: str, exc: Exception) -> StorageError:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "error")
        return StorageError(f"Object storage refused to {action} ({code}).", code)
    if isinstance(exc, SSLError):
        return StorageError(
            f"Object storage's certificate is not trusted while trying to {action}; if it comes "
            "from your own certificate authority, set LAMEFAIR_S3_CA_BUNDLE to that CA's PEM file."
        )
    return StorageError(f"Object storage is not answering (while trying to {action}).")
