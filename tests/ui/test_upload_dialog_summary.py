"""The upload dialog's per-file rows: the pixel size and the acquisition at a glance, from the tags."""

from __future__ import annotations

from lamefair_desktop.nexus.mapping import default_registry
from lamefair_desktop.ui.dialogs.upload_dialog import COLUMNS, UploadDialog


def test_each_file_row_shows_its_pixel_size_and_acquisition(qtbot, corpus_tiff_dir):
    dialog = UploadDialog(
        [corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif"],
        experiment_id="e1",
        experiment_name="SEM overview",
        pairs=default_registry().pairs(),
        context={},
        remembered_pair="SEM_FEI",
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.inspected, timeout=30_000):
        pass
    assert dialog.table.item(0, COLUMNS.index("Pixel size")).text() == "3.372 µm"
    acquisition = dialog.table.item(0, COLUMNS.index("Acquisition"))
    assert acquisition.text() == "5.0 kV · field 1.727 mm · dwell 10 µs · WD 4.035 mm · ETD (SE)"
    assert "Working distance: 4.035 mm" in acquisition.toolTip()
