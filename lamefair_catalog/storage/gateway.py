"""The one gateway between the catalog and S3 (boto3). Nothing else in the server talks to S3.

Two clients: `_admin` talks to the endpoint the server reaches; `_signer` only signs URLs for the
endpoint clients reach (LAMEFAIR_S3_PUBLIC_ENDPOINT), which may be another name for the same S3.
Checksums cross this module's boundary as lowercase hex; S3 wants base64 (`checksums.py`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lamefair_catalog.breaker import Breaker
from lamefair_catalog.metrics import S3_ERRORS
from lamefair_catalog.settings import Settings
from lamefair_catalog.storage.checksums import hex_to_b64
from lamefair_catalog.storage.errors import (
    ObjectTooLarge,
    StorageError,
    StorageNotAnswering,
    not_answering,
    storage_error,
)


@dataclass(frozen=True)
class Presigned:
    url: str
    headers: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class PartInfo:
    number: int
    etag: str
    size: int


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    sha256_b64: str | None  # full-object checksum, or COMPOSITE "...-N" for multipart
    etag: str


@dataclass(frozen=True)
class Listing:
    folders: list[str]
    objects: list[dict]
    next_cursor: str | None


# A stopped S3 server still accepts connections (the kernel does that) and then never answers, so
# every call needs a read timeout (settings.s3_read_timeout, 10 s); botocore's defaults (60 s,
# several attempts) held a request and its worker thread for minutes. Worst case per call with
# the default timeouts: 2 attempts of 3 s + 10 s, about 30 s; the breaker lets at most
# MAX_IN_FLIGHT calls wait that long at once.
ATTEMPTS = 2
# The health probe asks once and briefly: its answer is needed within seconds.
PROBE_TIMEOUT = 3
# S3 calls at once; one connection each (boto3's default pool size too). Healthy calls take
# milliseconds, so a caller that waits seconds for a slot means storage is not answering.
MAX_IN_FLIGHT = 10
DOWNLOAD_CHUNK = 1024 * 1024  # verdict downloads: memory stays at one chunk
SLOT_WAIT = 2.0
# Pages of 1,000 one `sizes` call reads at most before it leaves the rest to HEADs.
LIST_PAGES = 3


def _common_prefix(keys: list[str]) -> str:
    """The longest folder prefix (up to a "/") all keys share."""
    shared = os.path.commonprefix(keys)
    return shared[: shared.rfind("/") + 1]


def _client(
    settings: Settings,
    endpoint: str,
    *,
    read_timeout: float | None = None,
    attempts: int = ATTEMPTS,
):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        verify=settings.s3_ca_bundle or True,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": attempts, "mode": "standard"},
            connect_timeout=settings.s3_connect_timeout,
            read_timeout=read_timeout or settings.s3_read_timeout,
            max_pool_connections=MAX_IN_FLIGHT,
            # Presigned PUTs must not get checksum headers added by botocore's defaults; we sign
            # exactly the x-amz-checksum-sha256 the client declared.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


class Storage:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._admin = _client(settings, settings.s3_endpoint)
        self._signer = _client(settings, settings.s3_public_endpoint or settings.s3_endpoint)
        # Its own connection pool too: calls stuck on a hung S3 must not keep the probe waiting
        # for a free connection.
        self._probe = _client(
            settings, settings.s3_endpoint, read_timeout=PROBE_TIMEOUT, attempts=1
        )
        self.breaker = Breaker(
            cool_down=settings.outage_cool_down,
            is_outage=not_answering,
            refusal=lambda: StorageNotAnswering(
                "Object storage is not answering; try again in a moment."
            ),
            max_in_flight=MAX_IN_FLIGHT,
            slot_wait=SLOT_WAIT,
        )

    @contextmanager
    def _s3(self, action: str) -> Iterator[None]:
        """Around every call that talks to S3 (not presigning, which is local): refused at once
        while storage is known not to answer; what S3 raises becomes a StorageError saying what
        we were trying to do (`action`), with S3's error code. The breaker sees the raw error,
        so that it can tell an outage from an answer."""
        try:
            with self.breaker.call():
                yield
        except StorageNotAnswering:
            S3_ERRORS.labels("breaker", "").inc()
            raise
        except (BotoCoreError, ClientError) as exc:
            error = storage_error(action, exc)
            kind = "not_answering" if not_answering(exc) else "refused"
            S3_ERRORS.labels(kind, error.code or "").inc()
            raise error from exc

    # --- health and buckets -------------------------------------------------------------------

    def ping(self) -> str:
        """The health probe: always asks S3 (it is how a recovery is noticed first), and tells
        the breaker what it learned."""
        try:
            self._probe.list_buckets()
        except (BotoCoreError, ClientError) as exc:
            self.breaker.learn(exc)
            return str(storage_error("list buckets", exc))
        self.breaker.answered()
        return "ok"

    def ensure_bucket(self, bucket: str) -> None:
        """Create the bucket if it is missing; safe to repeat."""
        try:
            with self._s3(f"check bucket {bucket}"):
                self._admin.head_bucket(Bucket=bucket)
            return
        except StorageError as exc:
            if exc.code not in ("404", "NoSuchBucket", "NotFound"):
                raise
        try:
            with self._s3(f"create bucket {bucket}"):
                self._admin.create_bucket(Bucket=bucket)
        except StorageError as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def put_text(self, bucket: str, key: str, text: str) -> None:
        with self._s3(f"write {key}"):
            self._admin.put_object(
                Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType="text/plain"
            )

    def get_text(self, bucket: str, key: str) -> str:
        with self._s3(f"read {key}"):
            return self._admin.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")

    # --- presigning ---------------------------------------------------------------------------

    def _expiry(self, seconds: int | None = None) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=seconds or self.settings.presign_ttl)

    def presign_put(self, bucket: str, key: str, sha256_hex: str) -> Presigned:
        """A PUT URL that signs the object's SHA-256: S3 refuses any other body."""
        checksum = hex_to_b64(sha256_hex)
        url = self._signer.generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket, "Key": key, "ChecksumSHA256": checksum},
            ExpiresIn=self.settings.presign_ttl,
        )
        return Presigned(url, {"x-amz-checksum-sha256": checksum}, self._expiry())

    def presign_part(
        self, bucket: str, key: str, upload_id: str, number: int, sha256_hex: str
    ) -> Presigned:
        checksum = hex_to_b64(sha256_hex)
        url = self._signer.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": bucket,
                "Key": key,
                "UploadId": upload_id,
                "PartNumber": number,
                "ChecksumSHA256": checksum,
            },
            ExpiresIn=self.settings.presign_ttl,
        )
        return Presigned(url, {"x-amz-checksum-sha256": checksum}, self._expiry())

    def presign_get(
        self, bucket: str, key: str, filename: str | None = None, seconds: int | None = None
    ) -> Presigned:
        """A GET URL valid for `seconds` (LAMEFAIR_PRESIGN_TTL when not given)."""
        params = {"Bucket": bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        ttl = seconds or self.settings.presign_ttl
        url = self._signer.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl)
        return Presigned(url, {}, self._expiry(ttl))

    # --- multipart ----------------------------------------------------------------------------

    def create_multipart(self, bucket: str, key: str) -> str:
        with self._s3(f"start a multipart upload of {key}"):
            response = self._admin.create_multipart_upload(
                Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256"
            )
        return response["UploadId"]

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo] | None:
        """Parts S3 holds for an unfinished upload, or None when the upload no longer exists."""
        parts: list[PartInfo] = []
        marker = 0
        try:
            while True:
                with self._s3(f"list the parts of {key}"):
                    response = self._admin.list_parts(
                        Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
                    )
                parts += [
                    PartInfo(p["PartNumber"], p["ETag"], p["Size"])
                    for p in response.get("Parts", [])
                ]
                if not response.get("IsTruncated"):
                    return parts
                marker = response["NextPartNumberMarker"]
        except StorageError as exc:
            if exc.code == "NoSuchUpload":
                return None
            raise

    def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str, str]]
    ) -> None:
        """`parts`: (number, etag, sha256 hex) in order."""
        with self._s3(f"complete the upload of {key}"):
            self._admin.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [
                        {"PartNumber": n, "ETag": etag, "ChecksumSHA256": hex_to_b64(sha)}
                        for n, etag, sha in parts
                    ]
                },
            )

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        try:
            with self._s3(f"abort the upload of {key}"):
                self._admin.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except StorageError as exc:
            if exc.code != "NoSuchUpload":
                raise

    # --- objects ------------------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            with self._s3(f"check {key}"):
                response = self._admin.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except StorageError as exc:
            if exc.code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return ObjectInfo(
            size=response["ContentLength"],
            sha256_b64=response.get("ChecksumSHA256"),
            etag=response.get("ETag", ""),
        )

    def sizes(self, bucket: str, keys: list[str]) -> dict[str, int]:
        """Sizes of those of `keys` that S3 lists, from ListObjectsV2 over the range the keys
        span (a batch of one measurement's files shares its folder): one request for a batch
        instead of a HEAD per key. A key missing from the answer is not proof of absence (the
        range may hold more objects than LIST_PAGES pages): callers HEAD what is not here.

        No checksums: S3 lists none. See uploads.complete_uploads for why sizes suffice there.
        """
        if not keys:
            return {}
        wanted, last = set(keys), max(keys)
        prefix = _common_prefix(keys)
        first = min(keys)
        # StartAfter is exclusive: start after the first key less its last character, which
        # sorts before it (anything between is listed and ignored).
        params = {"Bucket": bucket, "Prefix": prefix, "StartAfter": first[:-1], "MaxKeys": 1000}
        found: dict[str, int] = {}
        for _ in range(LIST_PAGES):
            with self._s3(f"list {bucket}/{prefix}"):
                response = self._admin.list_objects_v2(**params)
            contents = response.get("Contents", [])
            found.update((o["Key"], o["Size"]) for o in contents if o["Key"] in wanted)
            if not response.get("IsTruncated") or not contents or contents[-1]["Key"] >= last:
                break
            params["ContinuationToken"] = response["NextContinuationToken"]
        return found

    def download(self, bucket: str, key: str, dest: Path, max_size: int) -> str:
        """Copy an object to the file `dest`, in chunks, and return its SHA-256 (hex).

        ObjectTooLarge, before a byte is read, for objects over `max_size` (and if more bytes come
        than announced). One breaker slot is held for the whole copy: the only caller is the
        one-thread verdict worker, so at most one slot goes to downloads.
        """
        digest = hashlib.sha256()
        with self._s3(f"read {key}"):
            response = self._admin.get_object(Bucket=bucket, Key=key)
            size = response["ContentLength"]
            body = response["Body"]
            try:
                if size > max_size:
                    raise ObjectTooLarge(key, size, max_size)
                written = 0
                with dest.open("wb") as handle:
                    for chunk in body.iter_chunks(DOWNLOAD_CHUNK):
                        written += len(chunk)
                        if written > max_size:
                            raise ObjectTooLarge(key, written, max_size)
                        digest.update(chunk)
                        handle.write(chunk)
            finally:
                body.close()
        return digest.hexdigest()

    def read_sha256(
        self, bucket: str, key: str, on_chunk: Callable[[int], None] | None = None
    ) -> tuple[str, int] | None:
        """Read an object through once and return (its SHA-256 hex, bytes read), or None when
        the object is missing. Memory stays at one chunk; `on_chunk(n)` after each chunk lets
        the caller pace the read (fixity's bounded rate). Holds one breaker slot for the whole
        read: fixity checks one object at a time per process, so at most one slot goes to it."""
        digest = hashlib.sha256()
        read = 0
        try:
            with self._s3(f"read {key}"):
                body = self._admin.get_object(Bucket=bucket, Key=key)["Body"]
                try:
                    for chunk in body.iter_chunks(DOWNLOAD_CHUNK):
                        digest.update(chunk)
                        read += len(chunk)
                        if on_chunk is not None:
                            on_chunk(len(chunk))
                finally:
                    body.close()
        except StorageError as exc:
            if exc.code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return digest.hexdigest(), read

    def list_all(self, bucket: str, prefix: str, limit: int) -> list[dict]:
        """Every object under `prefix` (all levels), `limit` at most: key, size."""
        objects: list[dict] = []
        params = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": min(limit, 1000)}
        while len(objects) < limit:
            with self._s3(f"list {bucket}/{prefix}"):
                response = self._admin.list_objects_v2(**params)
            objects += [
                {"key": o["Key"], "size": o["Size"]}
                for o in response.get("Contents", [])
                if o["Key"] != prefix
            ]
            if not response.get("IsTruncated"):
                break
            params["ContinuationToken"] = response["NextContinuationToken"]
        return objects[:limit]

    def list_level(self, bucket: str, prefix: str, cursor: str | None, limit: int) -> Listing:
        """Folders and objects one level below `prefix`, a page at a time (S3 does the paging)."""
        params = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/", "MaxKeys": limit}
        if cursor:
            params["ContinuationToken"] = cursor
        with self._s3(f"list {bucket}/{prefix}"):
            response = self._admin.list_objects_v2(**params)
        folders = [p["Prefix"] for p in response.get("CommonPrefixes", [])]
        objects = [
            {
                "key": o["Key"],
                "name": o["Key"][len(prefix) :],
                "size": o["Size"],
                "modified": o["LastModified"].astimezone(UTC).isoformat(),
                "etag": o.get("ETag", ""),
            }
            for o in response.get("Contents", [])
            if o["Key"] != prefix
        ]
        next_cursor = response.get("NextContinuationToken") if response.get("IsTruncated") else None
        return Listing(folders, objects, next_cursor)
