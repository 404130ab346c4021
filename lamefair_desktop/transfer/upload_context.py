"""What the upload dialog needs to know about an experiment, read on a worker (no Qt).

The chain experiment -> sample -> proposal -> project from the local catalog cache (what the NXem
is told), the instrument pairs, and the pair last used for this experiment on this PC. It takes
the settings already loaded: re-reading the file here turned a file broken mid-session into a
generic worker error instead of the named settings error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lamefair_desktop.catalog.sync import CatalogCache
from lamefair_desktop.home.settings import Settings
from lamefair_desktop.nexus.mapping import default_registry


@dataclass(frozen=True)
class UploadContext:
    experiment_id: str
    experiment_name: str
    context: dict
    pairs: tuple[tuple[str, str], ...] = ()
    remembered_pair: str | None = None


def upload_context(cache: CatalogCache, experiment_id: str, settings: Settings) -> UploadContext:
    context: dict = {}
    node = cache.get(experiment_id)
    name = node.name if node else ""
    for kind in ("experiment", "sample", "proposal", "project"):
        if node is None:
            break
        context[kind] = dict(node.data)
        node = cache.get(node.parent_id) if node.parent_id else None
    return UploadContext(
        experiment_id,
        name,
        context,
        tuple(default_registry().pairs()),
        settings.pairs_by_experiment.get(experiment_id),
    )


def remember_pair(experiment_id: str, pair: str) -> Settings:
    """Propose this pair again for this experiment; the settings as saved (OSError or
    SettingsError when they cannot be: a convenience, callers go on without it)."""
    return Settings.update(
        lambda s: replace(s, pairs_by_experiment={**s.pairs_by_experiment, experiment_id: pair})
    )
