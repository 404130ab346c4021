"""What the upload dialog needs to know about an experiment, read on a worker (no Qt).

The chain experiment -> sample -> proposal -> project from the local catalog cache (what the NXem
is told), the instrument pairs, and the pair and time zone last used for this experiment on this
PC (else this PC's defaults). It takes
the settings already loaded: re-reading the file here turned a file broken mid-session into a
generic worker error instead of the named settings error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lamefair_desktop.catalog.sync import CatalogCache
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.nexus.local_time import computer_zone
from lamefair_desktop.nexus.mapping import default_registry
from lamefair_desktop.transfer.derived import pair_timezone


@dataclass(frozen=True)
class UploadContext:
    experiment_id: str
    experiment_name: str
    context: dict
    pairs: tuple[tuple[str, str], ...] = ()
    remembered_pair: str | None = None
    timezone: str = ""  # proposed: remembered, the pair's, or this computer's


def upload_context(cache: CatalogCache, experiment_id: str, settings: Settings) -> UploadContext:
    context: dict = {}
    node = cache.get(experiment_id)
    name = node.name if node else ""
    for kind in ("experiment", "sample", "proposal", "project"):
        if node is None:
            break
        context[kind] = dict(node.data)
        node = cache.get(node.parent_id) if node.parent_id else None
    pair = settings.pairs_by_experiment.get(experiment_id) or settings.default_pair
    return UploadContext(
        experiment_id,
        name,
        context,
        tuple(default_registry().pairs()),
        pair,
        proposed_zone(experiment_id, pair, settings),
    )


def proposed_zone(experiment_id: str, pair: str | None, settings: Settings) -> str:
    """The zone the upload dialog proposes: the one last used for this experiment, else the
    instrument pair's own, else this computer's (its setting, then the system's)."""
    remembered = settings.timezones_by_experiment.get(experiment_id)
    if remembered:
        return remembered
    return pair_timezone(pair) or settings.default_timezone or computer_zone().name


def remember_choice(experiment_id: str, pair: str, timezone: str) -> Settings:
    """Propose this pair (and time zone) again for this experiment; the settings as saved
    (OSError or SettingsError when they cannot be: a convenience, callers go on without it)."""

    def remembered(s: Settings) -> Settings:
        zones = s.timezones_by_experiment
        return replace(
            s,
            pairs_by_experiment={**s.pairs_by_experiment, experiment_id: pair},
            timezones_by_experiment={**zones, experiment_id: timezone} if timezone else zones,
        )

    return Settings.update(remembered)
