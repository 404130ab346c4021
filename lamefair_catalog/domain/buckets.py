"""Bucket browsing: the buckets of the proposals one may read, their folders, objects and URLs.

Objects the catalog knows (stored raw and derived files) are listed with their SHA-256, so a
download can be checked against what was uploaded, and with their last fixity check.
"""

from __future__ import annotations

from sqlalchemy import select

from lamefair_catalog.database.models import (
    DerivedFile,
    Experiment,
    File,
    Measurement,
    Proposal,
    Sample,
)
from lamefair_catalog.domain.access import Principal, readable_bucket
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.fixity_report import last_results
from lamefair_catalog.domain.proposals import list_proposals
from lamefair_catalog.domain.thumbnails import thumbnails_of_objects
from lamefair_catalog.schemas import buckets as b


def list_buckets(catalog: Catalog, principal: Principal) -> list[b.BucketOut]:
    out = []
    for p in list_proposals(catalog, principal, None):
        for kind, name in (("raw", p.raw_bucket), ("mirror", p.mirror_bucket)):
            out.append(
                b.BucketOut(
                    name=name,
                    kind=kind,
                    proposal=p.id,
                    project=p.project_slug,
                    number=p.number,
                    title=p.title,
                )
            )
    return out


def _check_readable(catalog: Catalog, principal: Principal, bucket: str) -> None:
    with catalog.session() as session:
        readable_bucket(session, principal, bucket)


def list_objects(
    catalog: Catalog,
    principal: Principal,
    bucket: str,
    prefix: str,
    cursor: str | None,
    limit: int,
) -> b.ObjectListing:
    _check_readable(catalog, principal, bucket)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    listing = catalog.storage.list_level(bucket, prefix, cursor, limit)
    keys = [o["key"] for o in listing.objects]
    known = known_objects(catalog, bucket, keys)
    with catalog.session() as session:
        thumbs = thumbnails_of_objects(session, bucket, keys)
    objects = []
    for o in listing.objects:
        sha256, checked = known.get(o["key"], (None, None))
        thumbnail, thumbnail_sha256 = thumbs.get(o["key"], (None, ""))
        objects.append(
            b.ObjectOut(
                **o,
                sha256=sha256,
                verified_at=checked.last_checked_at if checked else None,
                fixity=checked.last_result if checked else None,
                thumbnail=thumbnail,
                thumbnail_sha256=thumbnail_sha256,
            )
        )
    return b.ObjectListing(
        bucket=bucket,
        prefix=prefix,
        folders=listing.folders,
        objects=objects,
        next_cursor=listing.next_cursor,
    )


def known_objects(catalog: Catalog, bucket: str, keys: list[str]) -> dict[str, tuple]:
    """For the keys the catalog knows (stored raw and derived files): the SHA-256 it recorded
    and the object's last fixity check (None if never checked since it was stored)."""
    if not keys:
        return {}
    with catalog.session() as session:
        raw = session.execute(
            select(File.key, File.id, File.sha256)
            .join(Measurement, File.measurement_id == Measurement.id)
            .join(Experiment, Measurement.experiment_id == Experiment.id)
            .join(Sample, Experiment.sample_id == Sample.id)
            .join(Proposal, Sample.proposal_id == Proposal.id)
            .where(Proposal.raw_bucket == bucket, File.key.in_(keys), File.state == "stored")
        ).all()
        derived = session.execute(
            select(DerivedFile.key, DerivedFile.id, DerivedFile.sha256).where(
                DerivedFile.bucket == bucket,
                DerivedFile.key.in_(keys),
                DerivedFile.state == "stored",
            )
        ).all()
        rows = [*raw, *derived]
        checked = last_results(session, {row.id: row.sha256 for row in rows})
    return {row.key: (row.sha256 or None, checked.get(row.id)) for row in rows}


def presign_keys(
    catalog: Catalog, principal: Principal, bucket: str, body: b.PresignKeysIn
) -> b.PresignKeysOut:
    _check_readable(catalog, principal, bucket)
    urls = []
    for key in body.keys:
        presigned = catalog.storage.presign_get(bucket, key)
        urls.append(
            b.PresignedGet(
                key=key,
                url=presigned.url,
                expires_at=presigned.expires_at,
                expires_in=catalog.settings.presign_ttl,
            )
        )
    return b.PresignKeysOut(urls=urls)
