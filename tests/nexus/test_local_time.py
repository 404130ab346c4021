"""Vendor clock times get the UTC offset in force when the image was taken, in the instrument's
zone, whatever the date of the conversion; the NXem says which zone was assumed and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from lamefair_desktop.nexus.validate import fairmat_validate
from lamefair_desktop.nexus.writer import convert

FEI = "FEI-Helios-Ebeam-16bits.tif"
START = "entry1/measurement/event1/start_time"
# The FEI header's own acquisition time (13 June 2016, 17:06:40), as xT writes it.
STATED = b"Date=06/13/2016\r\nTime=05:06:40 PM"


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch):
    """The converting computer is in Berlin (its current date is whatever today is)."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _fei_taken_at(corpus: Path, folder: Path, date: str, clock: str) -> Path:
    """The real FEI file with its header's date and time replaced (same lengths, same layout)."""
    data = (corpus / FEI).read_bytes()
    assert data.count(STATED) == 1
    changed = STATED.replace(b"06/13/2016", date.encode()).replace(b"05:06:40 PM", clock.encode())
    path = folder / f"fei-{date.replace('/', '-')}-{clock[:2]}.tif"
    path.write_bytes(data.replace(STATED, changed))
    return path


def _start(path: Path) -> str:
    with h5py.File(path) as handle:
        return handle[START][()].decode()


def _time_note(path: Path) -> tuple[str, str, dict]:
    with h5py.File(path) as handle:
        note = handle["entry1/local_time"]
        return (
            handle[START][()].decode(),
            note["description"][()].decode(),
            json.loads(note["data"][()])["times"]["event.start_time"],
        )


def test_summer_and_winter_images_get_their_own_offset_and_the_zone_is_recorded(
    berlin, corpus_tiff_dir, context, tmp_path
):
    june = tmp_path / "june.nxs"
    convert(corpus_tiff_dir / FEI, june, context=context)
    assert _start(june) == "2016-06-13T17:06:40+02:00"
    _start_time, description, reading = _time_note(june)
    assert "Europe/Berlin" in description
    assert "converting computer" in description
    assert reading["stated"] == "2016-06-13 17:06:40"
    assert reading["remark"] is None
    assert fairmat_validate(june).valid  # the note is documented NXem (strict mode)

    january = tmp_path / "january.nxs"
    convert(_fei_taken_at(corpus_tiff_dir, tmp_path, "01/13/2016", "05:06:40 PM"), january)
    assert _start(january) == "2016-01-13T17:06:40+01:00"


def test_the_instrument_zone_setting_wins_over_the_computer(berlin, corpus_tiff_dir, tmp_path):
    from lamefair_desktop.nexus.local_time import ZoneChoice

    out = tmp_path / "rome-pc-in-berlin.nxs"
    zone = ZoneChoice("Asia/Tokyo", "the instrument's setting")
    convert(corpus_tiff_dir / FEI, out, zone=zone)
    start, description, reading = _time_note(out)
    assert start == "2016-06-13T17:06:40+09:00"
    assert "Asia/Tokyo" in description
    assert "the instrument's setting" in description
    assert reading["zone"] == "Asia/Tokyo"


def test_the_hour_that_happens_twice_is_its_first_occurrence_and_says_so(
    berlin, corpus_tiff_dir, tmp_path
):
    # 30 October 2016: Berlin's clocks went from 03:00 summer time back to 02:00.
    source = _fei_taken_at(corpus_tiff_dir, tmp_path, "10/30/2016", "02:30:00 AM")
    out = tmp_path / "fold.nxs"
    convert(source, out)
    start, description, reading = _time_note(out)
    assert start == "2016-10-30T02:30:00+02:00"
    assert "occurs twice" in description
    assert "2016-10-30T02:30:00+01:00" in reading["remark"]  # the other reading is named


def test_the_hour_that_never_happened_is_resolved_and_says_so(berlin, corpus_tiff_dir, tmp_path):
    # 27 March 2016: Berlin's clocks went from 02:00 winter time to 03:00; 02:30 never happened.
    source = _fei_taken_at(corpus_tiff_dir, tmp_path, "03/27/2016", "02:30:00 AM")
    out = tmp_path / "gap.nxs"
    convert(source, out)
    start, description, reading = _time_note(out)
    assert start == "2016-03-27T03:30:00+02:00"  # 02:30 at +01:00, the offset before the change
    assert "does not exist in Europe/Berlin" in description
    assert reading["stated"] == "2016-03-27 02:30:00"


# The conversion in a child process whose clock reads a given date (datetime.now and time.time
# both): the same file must give the same bytes in winter and in summer.
_CONVERT_ON = """
import datetime as _dt, sys, time
clock = _dt.datetime.fromisoformat(sys.argv[3]).replace(tzinfo=_dt.timezone.utc)
class _Clock(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls.fromtimestamp(clock.timestamp(), tz)
    @classmethod
    def today(cls):
        return cls.now()
_dt.datetime = _Clock
time.time = clock.timestamp
from lamefair_desktop.nexus.writer import convert
convert(sys.argv[1], sys.argv[2])
"""


def test_converted_bytes_do_not_depend_on_the_date_of_conversion(corpus_tiff_dir, tmp_path):
    env = {**os.environ, "TZ": "Europe/Berlin"}
    outputs = []
    for today in ("2027-01-15T12:00:00", "2027-07-15T12:00:00"):
        out = tmp_path / f"converted-{today[:7]}.nxs"
        subprocess.run(
            [sys.executable, "-c", _CONVERT_ON, str(corpus_tiff_dir / FEI), str(out), today],
            env=env,
            check=True,
            timeout=120,
        )
        outputs.append(out)
    assert _start(outputs[0]) == _start(outputs[1]) == "2016-06-13T17:06:40+02:00"
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
