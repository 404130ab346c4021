"""Share links: made, listed and revoked by the people who run a proposal.

A share link names one object or one folder of a proposal's bucket. Its token (32 random bytes,
URL-safe) is shown once, when it is made; the database keeps only its SHA-256, so neither a
database dump nor a backup hands out working links. Opening one needs no account (share_open.py).

Who: operators and PIs who may read the proposal make links into it (a member who only reads
may not hand its data to others); the maker or a PI revokes; revoking takes effect on the next
request, because every use is checked against the database, never against a signed URL.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lamefair_catalog.database.models import ShareLink, ShareUse
from lamefair_catalog.domain.access import (
    Principal,
    experiment_chain,
    file_chain,
    measurement_chain,
    readable_bucket,
    readable_proposal,
    require_writer,
)
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.errors import Forbidden, Invalid, NotFound
from lamefair_catalog.domain.layout import experiment_prefix, measurement_prefix
from lamefair_catalog.schemas import shares as s
from lamefair_catalog.shared import InvalidName, sanitize_relative_path

SHARE_PATH = "/s/"  # where links are opened (web/routes/shares.py)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def state_of(link: ShareLink, now: datetime | None = None) -> str:
    if link.revoked_at is not None:
        return "revoked"
    return "expired" if link.expires_at <= (now or datetime.now(UTC)) else "active"


def clean_key(key: str, *, folder: bool) -> str:
    """A key or folder prefix without "..", "." or empty parts: a link names one place."""
    body = key[:-1] if folder else key
    try:
        clean = sanitize_relative_path(body, reserved_names=False)
    except InvalidName as exc:
        raise Invalid(f"{key!r} cannot be shared: {exc}", field="key") from None
    if clean != body:
        raise Invalid(f"{key!r} cannot be shared: write it as {clean!r}.", field="key")
    return clean + "/" if folder else clean


def _target(catalog: Catalog, session: Session, principal: Principal, body: s.ShareIn):
    """(proposal, bucket, key, is_folder) of what the body names, if the caller may read it."""
    if body.file:
        row, proposal = file_chain(session, principal, body.file)
        if row.state != "stored":
            raise Invalid(f"{row.path} is not stored yet (state: {row.state}).", field="file")
        return proposal, proposal.raw_bucket, row.key, False
    if body.measurement:
        measurement, proposal = measurement_chain(session, principal, body.measurement)
        experiment, sample, _ = experiment_chain(session, principal, measurement.experiment_id)
        prefix = measurement_prefix(proposal, sample, experiment.slug, measurement.slug)
        return proposal, proposal.raw_bucket, prefix, True
    if body.experiment:
        experiment, sample, proposal = experiment_chain(session, principal, body.experiment)
        return (
            proposal,
            proposal.raw_bucket,
            experiment_prefix(proposal, sample, experiment.slug),
            True,
        )
    proposal = readable_bucket(session, principal, body.bucket)
    folder = body.key.endswith("/")
    key = clean_key(body.key, folder=folder)
    if folder:
        if not catalog.storage.list_all(body.bucket, key, 1):
            raise NotFound(f"There is nothing under {key} in {body.bucket} to share.")
    elif catalog.storage.head(body.bucket, key) is None:
        raise NotFound(f"{key} does not exist in {body.bucket}.")
    return proposal, body.bucket, key, folder


def create_share(
    catalog: Catalog, principal: Principal, body: s.ShareIn, base_url: str
) -> s.ShareCreated:
    require_writer(principal)
    maximum = catalog.settings.share_max
    if body.expires_in > maximum:
        raise Invalid(
            f"A share link may last {_duration(maximum)} at most (LAMEFAIR_SHARE_MAX); "
            "pick a shorter expiry.",
            field="expires_in",
        )
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with catalog.session() as session:
        proposal, bucket, key, folder = _target(catalog, session, principal, body)
        link = ShareLink(
            id=uuid.uuid4(),
            token_sha256=token_hash(token),
            proposal_id=proposal.id,
            bucket=bucket,
            key=key,
            is_folder=folder,
            note=body.note,
            created_at=now,
            created_by=principal.username,
            expires_at=now + timedelta(seconds=body.expires_in),
        )
        session.add(link)
        session.commit()
        out = _out(link, 0)
    url = base_url.rstrip("/") + SHARE_PATH + token
    return s.ShareCreated(**out.model_dump(), url=url, max_expires_in=maximum)


def list_shares(catalog: Catalog, principal: Principal, proposal_id: uuid.UUID) -> list[s.ShareOut]:
    require_writer(principal)
    with catalog.session() as session:
        readable_proposal(session, principal, proposal_id)
        uses = (
            select(ShareUse.link_id, func.count().label("n")).group_by(ShareUse.link_id).subquery()
        )
        rows = session.execute(
            select(ShareLink, func.coalesce(uses.c.n, 0))
            .outerjoin(uses, uses.c.link_id == ShareLink.id)
            .where(ShareLink.proposal_id == proposal_id)
            .order_by(ShareLink.created_at.desc())
        ).all()
        return [_out(link, n) for link, n in rows]


def _readable_link(session: Session, principal: Principal, link_id: uuid.UUID) -> ShareLink:
    require_writer(principal)
    link = session.get(ShareLink, link_id)
    if link is None:
        raise NotFound(f"Share link {link_id} does not exist.")
    readable_proposal(session, principal, link.proposal_id)
    return link


def revoke_share(catalog: Catalog, principal: Principal, link_id: uuid.UUID) -> s.ShareOut:
    """Takes effect at once: the next opening is refused. Revoking twice keeps the first time."""
    with catalog.session() as session:
        link = _readable_link(session, principal, link_id)
        if not (principal.is_admin or link.created_by == principal.username):
            raise Forbidden(f"Only {link.created_by}, who made this link, or a PI may revoke it.")
        if link.revoked_at is None:
            link.revoked_at = datetime.now(UTC)
            link.revoked_by = principal.username
            session.commit()
        count = session.scalar(select(func.count()).where(ShareUse.link_id == link.id))
        return _out(link, count or 0)


def list_uses(catalog: Catalog, principal: Principal, link_id: uuid.UUID) -> list[s.ShareUseOut]:
    with catalog.session() as session:
        link = _readable_link(session, principal, link_id)
        rows = session.scalars(
            select(ShareUse).where(ShareUse.link_id == link.id).order_by(ShareUse.at, ShareUse.id)
        )
        return [
            s.ShareUseOut(
                at=u.at, key=u.key, outcome=u.outcome, client=u.client, user_agent=u.user_agent
            )
            for u in rows
        ]


def _out(link: ShareLink, uses: int) -> s.ShareOut:
    return s.ShareOut(
        id=link.id,
        proposal=link.proposal_id,
        bucket=link.bucket,
        key=link.key,
        is_folder=link.is_folder,
        note=link.note,
        created_at=link.created_at,
        created_by=link.created_by,
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        revoked_by=link.revoked_by,
        state=state_of(link),
        uses=uses,
    )


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"
