"""The instrument's time zone, set on a watch rule or as this computer's default, reaches the NXem:
the vendor's zone-less acquisition time gets that zone's offset at that instant, and the NXem
says which zone was assumed and why. Real catalog, SeaweedFS, watcher, upload and conversion.

The converting computer is put in Berlin: the NXem must not take its zone when another is set."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import h5py
import pytest

from lamefair_desktop.home.settings import Settings
from lamefair_desktop.transfer.deriver import Deriver
from lamefair_desktop.watch.rules import WatchRule
from tests.transfer.test_watch import LAMEFAIR, Rig, sessions  # noqa: F401 - the fixture

FEI = "FEI-Helios-Ebeam-16bits.tif"  # its header: 13 June 2016, 17:06:40, no zone
START = "entry1/measurement/event1/start_time"


@pytest.fixture
def in_berlin(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _watched_and_converted(client, api, sessions, tmp_path, corpus_tiff_dir, **rule) -> Path:  # noqa: F811
    experiment = api.make_hierarchy()["experiment"]["id"]
    folder = tmp_path / "microscope"
    folder.mkdir()
    rig = Rig(client, sessions, folder, experiment, convert=True, **rule)
    try:
        shutil.copy(corpus_tiff_dir / FEI, folder / FEI)
        rig.until(lambda: [e.state for e in rig.ledger()] == ["stored"])
        deriver = Deriver(client, rig.uploads, rig.service.derived, validate_with_pynx=False)
        assert deriver.run() == {"stored": 1}
        deriver.close()
        (job,) = rig.service.derived.items()
        return Path(job.output)
    finally:
        rig.close()


def _start_and_zone(path: Path) -> tuple[str, str, str]:
    with h5py.File(path) as handle:
        note = handle["entry1/local_time"]
        reading = json.loads(note["data"][()])["times"]["event.start_time"]
        return handle[START][()].decode(), reading["zone"], reading["zone_reason"]


def test_a_watch_rule_in_tokyo_stamps_the_acquisition_with_tokyos_offset(
    client,
    api,
    sessions,  # noqa: F811
    tmp_path,
    corpus_tiff_dir,
    in_berlin,
):
    output = _watched_and_converted(
        client, api, sessions, tmp_path, corpus_tiff_dir, timezone="Asia/Tokyo"
    )
    start, zone, reason = _start_and_zone(output)
    assert start == "2016-06-13T17:06:40+09:00"
    assert zone == "Asia/Tokyo"
    assert reason == f"set on the watch rule for {tmp_path / 'microscope'}"


def test_without_a_zone_on_the_rule_this_computers_default_setting_is_used(
    client,
    api,
    sessions,  # noqa: F811
    tmp_path,
    corpus_tiff_dir,
    in_berlin,
):
    Settings(default_timezone="America/New_York").save()
    output = _watched_and_converted(client, api, sessions, tmp_path, corpus_tiff_dir)
    start, zone, reason = _start_and_zone(output)
    assert start == "2016-06-13T17:06:40-04:00"  # summer time in New York on that day
    assert (zone, reason) == (
        "America/New_York",
        "this computer's default time zone (lamefair settings)",
    )


def test_a_watch_rule_with_an_unknown_zone_is_refused(sessions, tmp_path):  # noqa: F811
    shown = subprocess.run(
        [LAMEFAIR, "watch", str(tmp_path), "--experiment", "e1", "--timezone", "Asia/Tokio"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 2
    assert shown.stderr.strip() == (
        "error: --timezone: unknown time zone 'Asia/Tokio' (expected an IANA name such as "
        "Europe/Berlin)"
    )
    from lamefair_desktop.watch.rules import WatchStore

    with pytest.raises(ValueError, match="unknown time zone 'Asia/Tokio'"):
        WatchStore(sessions).save_rule(
            WatchRule(id="r1", server="cat", folder=str(tmp_path), timezone="Asia/Tokio")
        )
