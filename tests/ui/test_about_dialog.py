"""About: version, libraries and folders; "Copy diagnostics" puts the same text on the clipboard."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from lamefair_desktop import __version__
from lamefair_desktop.home import paths
from lamefair_desktop.ui.dialogs.about_dialog import AboutDialog


def test_copy_diagnostics_gives_support_what_it_needs(qtbot):
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    text = QGuiApplication.clipboard().text()
    assert text.startswith(f"lamefair {__version__}")
    for needed in ("Qt ", "h5py ", "HDF5 ", "tifffile ", "Keyring backend: ", "build: from source"):
        assert needed in text, needed
    assert str(paths.log_dir()) in text
    assert str(paths.config_dir()) in text
    assert dialog.copy_button.text() == "Copied"
