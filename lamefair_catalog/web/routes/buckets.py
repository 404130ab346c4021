"""Routes of bucket browsing: a reader's buckets, one folder level at a time, GET URLs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from lamefair_catalog.domain import buckets
from lamefair_catalog.schemas import buckets as s
from lamefair_catalog.schemas.fields import Line
from lamefair_catalog.web.dependencies import Cat, Me

router = APIRouter(tags=["buckets"])

# Only S3 bucket names: anything else is none of ours, and a NUL would reach PostgreSQL's query.
Bucket = Annotated[str, Path(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")]


@router.get("/buckets", response_model=list[s.BucketOut])
def list_buckets(user: Me, cat: Cat):
    return buckets.list_buckets(cat, user)


@router.get("/buckets/{bucket}/objects", response_model=s.ObjectListing)
def list_objects(
    bucket: Bucket,
    user: Me,
    cat: Cat,
    prefix: Annotated[str, Query(max_length=1024), Line] = "",
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
):
    """Folders and objects one level below `prefix`, a page at a time."""
    return buckets.list_objects(cat, user, bucket, prefix, cursor, limit)


@router.post("/buckets/{bucket}/presign", response_model=s.PresignKeysOut)
def presign_keys(bucket: Bucket, body: s.PresignKeysIn, user: Me, cat: Cat):
    """Presigned GET URLs for folder downloads and aria2 manifests."""
    return buckets.presign_keys(cat, user, bucket, body)
