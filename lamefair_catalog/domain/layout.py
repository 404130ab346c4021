"""Where each entity's data lives in its proposal's buckets (the same prefix in raw and mirror).

`<project>/PROPOSAL-<number>/SAMPLE-<sample>/EXP-<experiment>/raw/<measurement>/<path>`, all
slugs: a person browsing the bucket finds the data by the names they gave it. Renames keep the
slug, so data already stored stays where it is.
"""

from __future__ import annotations

from lamefair_catalog.database.models import Proposal, Sample


def proposal_prefix(project_slug: str, number_slug: str) -> str:
    return f"{project_slug}/PROPOSAL-{number_slug}/"


def sample_prefix(proposal: Proposal, sample_slug: str) -> str:
    return proposal_prefix(proposal.project.slug, proposal.number_slug) + f"SAMPLE-{sample_slug}/"


def experiment_prefix(proposal: Proposal, sample: Sample, experiment_slug: str) -> str:
    return sample_prefix(proposal, sample.slug) + f"EXP-{experiment_slug}/"


def measurement_prefix(
    proposal: Proposal, sample: Sample, experiment_slug: str, measurement_slug: str
) -> str:
    return experiment_prefix(proposal, sample, experiment_slug) + f"raw/{measurement_slug}/"
