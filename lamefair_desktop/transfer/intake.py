"""The one way files enter lamefair: register them, then maybe queue their conversion to NXem.

The window, `lamefair upload` and watch folders all take files through here, so the three agree on
what "convert" means and on what happens when the conversion cannot be queued: the files stay
queued for upload (they are the data; the NXem copy can be made later) and the caller is told why.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from lamefair_desktop.nexus.local_time import ZoneChoice
from lamefair_desktop.transfer.derived import DerivedQueue, wants_conversion
from lamefair_desktop.transfer.registration import LocalFile, collect_files, wait_until_stable
from lamefair_desktop.transfer.upload import Uploader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Taken:
    measurement: dict  # as the catalog registered it
    converting: bool  # conversions were queued for its TIFFs
    conversion_problem: str = ""  # why they were not, though asked for


@dataclass(frozen=True)
class Measurement:
    """What the person (or the watch rule) says about the files."""

    experiment_id: str
    pair: str = "generic"
    operator: str = ""
    description: str = ""
    convert: bool = True
    zone: ZoneChoice | None = None  # the instrument clock's, as chosen (None: derived.default_zone)


class Intake:
    def __init__(self, uploader: Uploader, derived: DerivedQueue) -> None:
        self.uploader = uploader
        self.derived = derived

    def take(
        self,
        about: Measurement,
        inputs: list[Path],
        *,
        cancel: threading.Event | None = None,
    ) -> Taken:
        """Files and folders as dropped or named: wait until they settle, then take them."""
        settings = self.uploader.settings
        files = wait_until_stable(
            collect_files(inputs),
            cancel or threading.Event(),
            settings.stable_seconds,
            settings.stable_checks,
        )
        return self.take_files(about, files)

    def take_files(self, about: Measurement, files: list[LocalFile], **registration) -> Taken:
        """Settled files; `registration` as registration.register_files takes it (chosen ids,
        hashes already known: a watch folder replays the same create after a crash)."""
        measurement = self.uploader.register_files(
            about.experiment_id,
            files,
            instrument_pair=about.pair,
            operator=about.operator,
            description=about.description,
            **registration,
        )
        if not about.convert or not any(wants_conversion(f["path"]) for f in measurement["files"]):
            return Taken(measurement, converting=False)
        try:
            self.derived.add(self.uploader.client.catalog_key, measurement, about.pair, about.zone)
        except Exception as exc:  # noqa: BLE001 - the files are queued: say what is not
            log.exception("conversion of measurement %s not queued", measurement["id"])
            return Taken(measurement, False, str(exc) or exc.__class__.__name__)
        return Taken(measurement, converting=True)
