"""The instrument's time zone in the dialogs: the upload dialog proposes the remembered or default
zone and refuses an unknown one on its field; a watch rule and the settings take one the same way.
"""

from __future__ import annotations

import shutil

from PySide6.QtWidgets import QDialog

from lamefair_desktop.home.settings import Settings
from lamefair_desktop.nexus.mapping import default_registry
from lamefair_desktop.transfer.upload_context import proposed_zone
from lamefair_desktop.ui.dialogs.settings_dialog import SettingsDialog
from lamefair_desktop.ui.dialogs.upload_dialog import UploadDialog
from lamefair_desktop.ui.panels.watch_panel import WatchRuleDialog

PAIRS = [("generic", "Generic"), ("fei-helios", "FEI Helios")]
UNKNOWN = "unknown time zone 'Asia/Tokio' (expected an IANA name such as Europe/Berlin)"


def test_the_upload_dialog_proposes_the_zone_and_refuses_an_unknown_one(
    qtbot, tmp_path, corpus_tiff_dir
):
    Settings(default_timezone="Asia/Tokyo").save()
    image = tmp_path / "a.tif"
    shutil.copy(corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif", image)
    dialog = UploadDialog(
        [image],
        experiment_id="e1",
        experiment_name="grid scan",
        pairs=default_registry().pairs(),
        context={},
        timezone=proposed_zone("e1", "generic", Settings.load()),
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.inspected, timeout=30_000):
        dialog.show()
    assert dialog.timezone.currentText() == "Asia/Tokyo"  # this computer's default setting

    dialog.timezone.setCurrentText("Asia/Tokio")
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.problem.text() == f"Instrument time zone: {UNKNOWN}."

    dialog.timezone.setCurrentText("Europe/Rome")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.request().timezone == "Europe/Rome"


def test_the_zone_last_used_for_an_experiment_is_proposed_again():
    Settings(default_timezone="Asia/Tokyo", timezones_by_experiment={"e1": "Europe/Rome"}).save()
    assert proposed_zone("e1", "generic", Settings.load()) == "Europe/Rome"
    assert proposed_zone("e2", "generic", Settings.load()) == "Asia/Tokyo"


def test_a_watch_rule_takes_a_zone_or_says_what_is_wrong(qtbot, tmp_path):
    dialog = WatchRuleDialog(
        server="cat", pairs=PAIRS, experiment_id="e1", experiment_name="grid scan"
    )
    qtbot.addWidget(dialog)
    dialog.folder.setText(str(tmp_path))
    assert dialog.rule().timezone is None  # empty: the pair's, else this computer's

    dialog.timezone.setCurrentText("Asia/Tokio")
    assert dialog.rule() is None
    assert dialog.error.text() == f"Instrument time zone: {UNKNOWN}."

    dialog.timezone.setCurrentText("Asia/Tokyo")
    assert dialog.rule().timezone == "Asia/Tokyo"


def test_the_settings_dialog_shows_and_saves_this_computers_pair_and_zone(qtbot):
    Settings(default_pair="fei-helios", default_timezone="Europe/Rome").save()
    dialog = SettingsDialog(Settings.load(), pairs=PAIRS)
    qtbot.addWidget(dialog)
    assert dialog.default_pair.currentData() == "fei-helios"
    assert dialog.default_timezone.currentText() == "Europe/Rome"

    dialog.default_timezone.setCurrentText("Asia/Tokio")
    assert dialog.settings() is None
    assert dialog.error.text() == f"Instruments' time zone: {UNKNOWN}."

    dialog.default_timezone.setCurrentText("America/New_York")
    dialog.default_pair.setCurrentIndex(0)
    dialog.settings().save()
    saved = Settings.load()
    assert (saved.default_pair, saved.default_timezone) == (None, "America/New_York")
