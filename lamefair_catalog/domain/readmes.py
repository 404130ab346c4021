"""README.txt files written next to the data, so people browsing raw storage see the context.

Plain `key: value` lines, one per field; a value that spans lines continues on lines indented by
two spaces (as in e-mail headers). No secrets are ever written here.

Written after the commit and best effort: the catalog row is the truth, a README can be rewritten
(`POST /api/proposals/<id>/ensure-buckets` rewrites them all).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from lamefair_catalog.database.models import Project, Proposal, Sample
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.layout import experiment_prefix, proposal_prefix, sample_prefix
from lamefair_catalog.schemas import hierarchy as h
from lamefair_catalog.shared import GENERIC_PAIR
from lamefair_catalog.storage.errors import StorageError

log = logging.getLogger("lamefair_catalog")

HEADER = (
    "# Written by lamefair. Describes the data stored under this folder; do not edit, it is "
    "rewritten when the catalog entry changes."
)


def _format(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value)
    return str(value)


# The pair "generic" means: no pair chosen, each file converted with the mapping detected for it.
# Written as is, it read as if a generic mapping had converted files that a specific one did.
DETECTED_PAIR = "detected from each file (the mapping used is named in each NXem file)"


def render(kind: str, fields: dict[str, object], written_by: str) -> str:
    lines = [HEADER, f"kind: {kind}"]
    for key, value in fields.items():
        if key == "instrument_pair" and value == GENERIC_PAIR:
            value = DETECTED_PAIR
        text = _format(value).replace("\r\n", "\n").replace("\r", "\n")
        first, *rest = text.split("\n") if text else [""]
        lines.append(f"{key}: {first}".rstrip())
        lines += [f"  {line}" for line in rest]
    lines.append(f"written_by: {written_by}")
    lines.append(f"written_at: {datetime.now(UTC).isoformat(timespec='seconds')}")
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, str]:
    """Read a README back (tests, and tools that want the context without the catalog)."""
    result: dict[str, str] = {}
    last: str | None = None
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("  ") and last is not None:
            result[last] += "\n" + line[2:]
            continue
        key, _, value = line.partition(":")
        last = key.strip()
        result[last] = value.strip()
    return result


def write_readme(
    catalog: Catalog, buckets: list[str], prefix: str, kind: str, fields: dict, who: str
) -> None:
    body = render(kind, fields, who)
    for bucket in buckets:
        try:
            catalog.storage.put_text(bucket, prefix + "README.txt", body)
        except StorageError as exc:
            log.warning("README for %s %s not written: %s", kind, prefix, exc)


def proposal_readme(catalog: Catalog, out: h.ProposalOut, who: str) -> None:
    with catalog.session() as session:
        project = session.get(Project, out.project)
    fields = {
        "id": out.id,
        "project": project.name if project else "",
        "number": out.number,
        "title": out.title,
        "pi_name": out.pi_name,
        "date": out.date,
        "description": out.description,
        "members": out.members,
        "raw_bucket": out.raw_bucket,
        "mirror_bucket": out.mirror_bucket,
        "created_by": out.created_by,
        "created_at": out.created_at,
    }
    prefix = proposal_prefix(out.project_slug, out.number_slug)
    write_readme(catalog, [out.raw_bucket, out.mirror_bucket], prefix, "proposal", fields, who)


def sample_readme(catalog: Catalog, out: h.SampleOut, who: str) -> None:
    with catalog.session() as session:
        proposal = session.get(Proposal, out.proposal)
        fields = out.model_dump(exclude={"proposal"})
        fields = {"proposal": proposal.number, "project": proposal.project.name, **fields}
        prefix = sample_prefix(proposal, out.slug)
        buckets = [proposal.raw_bucket, proposal.mirror_bucket]
    write_readme(catalog, buckets, prefix, "sample", fields, who)


def experiment_readme(catalog: Catalog, out: h.ExperimentOut, sample: Sample, who: str) -> None:
    with catalog.session() as session:
        proposal = session.get(Proposal, sample.proposal_id)
        fields = {
            "project": proposal.project.name,
            "proposal": proposal.number,
            "sample": sample.name,
            "sample_identifier": sample.identifier,
            **out.model_dump(exclude={"sample"}),
        }
        prefix = experiment_prefix(proposal, sample, out.slug)
        buckets = [proposal.raw_bucket, proposal.mirror_bucket]
    write_readme(catalog, buckets, prefix, "experiment", fields, who)
