"""PUTs to S3 through presigned URLs, with the desktop's one retry policy (catalog/retry.py).

- network errors and 5xx: retried after a backoff with jitter, which a Cancel ends at once;
- an expired URL (403 "expired"): a fresh one is asked for and used at once;
- BadDigest (S3 refused the bytes for their checksum): the source is read again once; twice
  means the file changed, and it fails without storing anything;
- an untrusted certificate waits like a network failure, saying why (no retry can fix it).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import httpx

from lamefair_desktop.catalog.client import CatalogUnreachable
from lamefair_desktop.catalog.retry import CancelEvent, Cancelled, RetryLater, RetryNow, RetryPolicy
from lamefair_desktop.catalog.tls import UntrustedCertificate, http_client
from lamefair_desktop.transfer.errors import Interrupted, SourceChanged, UploadError

STREAM_CHUNK = 1024 * 1024

UrlOf = Callable[[bool], tuple[str, dict]]  # refresh? -> (url, headers)


class S3Requests:
    def __init__(self, ca_bundle: str | None, policy: RetryPolicy) -> None:
        self.http = http_client(ca_bundle, timeout=httpx.Timeout(120.0, connect=10.0))
        self.policy = policy
        self.retries: Counter[str] = Counter()  # why requests were repeated: for logs and tests
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def _count(self, error: RetryNow) -> None:
        with self._lock:
            self.retries[error.reason] += 1

    def put(
        self,
        url_of: UrlOf,
        body_of: Callable[[], object],
        what: str,
        cancel: CancelEvent,
        on_bad_digest: Callable[[], None],
        *,
        length: int,
    ) -> httpx.Response:
        """PUT `body_of()` (called again for each try) to the URL `url_of` gives."""
        current = {"url": url_of(False), "bad_digests": 0}

        def once() -> httpx.Response:
            url, headers = current["url"]
            try:
                response = self.http.put(
                    url, content=body_of(), headers={**headers, "Content-Length": str(length)}
                )
            except UntrustedCertificate as exc:
                raise CatalogUnreachable(f"{what}: {exc}") from exc
            except httpx.TransportError as exc:
                raise RetryLater("network", exc) from exc
            if response.status_code == 200:
                return response
            text = response.text
            if response.status_code == 403 and "expired" in text.lower():
                current["url"] = url_of(True)
                raise RetryNow("expired")
            if response.status_code == 400 and "BadDigest" in text:
                current["bad_digests"] += 1
                if current["bad_digests"] > 1:
                    raise SourceChanged(
                        f"{what}: S3 refused the bytes twice because they do not match the "
                        "SHA-256 taken when the file was queued; the file has changed. Add it "
                        "again as a new measurement."
                    )
                on_bad_digest()
                raise RetryNow("bad_digest")
            if response.status_code >= 500:
                raise RetryLater("server")
            raise UploadError(f"{what}: S3 answered {response.status_code}: {text[:200]}")

        try:
            return self.policy.run(once, cancel=cancel, on_retry=self._count)
        except Cancelled:
            raise Interrupted(f"{what}: interrupted") from None
        except RetryNow as exc:
            self._count(exc)
            raise CatalogUnreachable(
                f"{what}: object storage is not reachable; will retry."
            ) from None


def read_into(path: str, offset: int, target: memoryview) -> None:
    with open(path, "rb", buffering=0) as handle:
        handle.seek(offset)
        filled = 0
        while filled < len(target):
            count = handle.readinto(target[filled:])
            if not count:
                raise SourceChanged(f"{path} is shorter than when it was queued; it changed.")
            filled += count


def view_chunks(view: memoryview):
    for start in range(0, len(view), STREAM_CHUNK):
        yield view[start : start + STREAM_CHUNK]


def file_chunks(path: str, size: int):
    """The file streamed in 1 MiB reads (Content-Length is set by the caller)."""
    with open(path, "rb") as handle:
        sent = 0
        while block := handle.read(STREAM_CHUNK):
            sent += len(block)
            yield block
    if sent != size:
        raise SourceChanged(f"{path} changed size while it was being sent.")
