"""Settings: the catalog server (empty: the local catalog), CA bundle, transfer concurrency,
cache folder and size, this computer's default instrument pair and time zone, and where Fiji and
napari are when they are not on PATH (the preview's "Open in Fiji/napari"). Saved as JSON in the
config folder (settings.py); secrets never go there.

Also the message shown at start-up when the settings file cannot be used: the window stops there
rather than guess (a guess would be the local catalog, and uploads going to the wrong place)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lamefair_catalog.shared import GENERIC_PAIR
from lamefair_desktop.home.settings import Settings, SettingsError
from lamefair_desktop.nexus.local_time import computer_zone
from lamefair_desktop.nexus.mapping import default_registry
from lamefair_desktop.ui.dialogs.form_rows import browse_row, form_layout
from lamefair_desktop.ui.look import ProblemLabel
from lamefair_desktop.ui.panels.external_viewers import fiji_launcher, is_program
from lamefair_desktop.ui.zone_field import ZoneField


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        pairs: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.original = settings
        self.setWindowTitle("lamefair settings")
        self.server = QLineEdit(settings.server_url or "")
        self.server.setPlaceholderText("empty: the local catalog on this computer")
        self.ca_bundle = QLineEdit(settings.ca_bundle or "")
        self.ca_bundle.setPlaceholderText("PEM file of your institute's CA (optional)")
        self.parts = QSpinBox()
        self.parts.setRange(1, 32)
        self.parts.setValue(settings.part_concurrency)
        self.files = QSpinBox()
        self.files.setRange(1, 32)
        self.files.setValue(settings.file_concurrency)
        self.cache = QLineEdit(settings.cache_dir or "")
        self.cache.setPlaceholderText(str(Settings().cache_path()))
        self.cache_size = QSpinBox()
        self.cache_size.setRange(100, 1_000_000)
        self.cache_size.setSuffix(" MB")
        self.cache_size.setValue(settings.cache_size_mb)
        self.default_pair = QComboBox()
        self.default_pair.addItem("None (detect from each file)", None)
        for pair_id, label in default_registry().pairs() if pairs is None else pairs:
            if pair_id != GENERIC_PAIR:
                self.default_pair.addItem(label, pair_id)
        if settings.default_pair and self.default_pair.findData(settings.default_pair) < 0:
            self.default_pair.addItem(
                f"{settings.default_pair} (unknown here)", settings.default_pair
            )
        self.default_pair.setCurrentIndex(max(0, self.default_pair.findData(settings.default_pair)))
        self.default_timezone = ZoneField(
            settings.default_timezone, placeholder=f"empty: the system's ({computer_zone().name})"
        )
        self.fiji = QLineEdit(settings.fiji_path or "")
        self.fiji.setPlaceholderText("empty: ImageJ-linux64 or fiji on PATH")
        self.fiji.setToolTip("Fiji's launcher, or its Fiji.app folder")
        self.napari = QLineEdit(settings.napari_path or "")
        self.napari.setPlaceholderText("empty: napari on PATH")
        self.napari.setToolTip("The napari command of the environment napari is installed in")
        self.error = ProblemLabel()
        self.error.setWordWrap(True)
        # Replaced by tests: the file dialogs are modal.
        self.ask_ca_bundle = lambda: QFileDialog.getOpenFileName(
            self, "CA bundle (PEM)", "", "Certificates (*.pem *.crt *.cer);;All files (*)"
        )[0]
        self.ask_cache_dir = lambda: QFileDialog.getExistingDirectory(self, "Cache folder")
        self.ask_fiji = lambda: QFileDialog.getOpenFileName(self, "Fiji's launcher")[0]
        self.ask_napari = lambda: QFileDialog.getOpenFileName(self, "The napari command")[0]
        form = form_layout()
        form.addRow("Catalog server URL", self.server)
        form.addRow("CA bundle", browse_row(self.ca_bundle, lambda: self.ask_ca_bundle())[0])
        form.addRow("Parts in flight per file", self.parts)
        form.addRow("Files in flight", self.files)
        form.addRow("Cache folder", browse_row(self.cache, lambda: self.ask_cache_dir())[0])
        form.addRow("Cache size", self.cache_size)
        form.addRow("Default instrument pair", self.default_pair)
        form.addRow("Instruments' time zone", self.default_timezone)
        form.addRow("Fiji", browse_row(self.fiji, lambda: self.ask_fiji())[0])
        form.addRow("napari", browse_row(self.napari, lambda: self.ask_napari())[0])
        note = QLabel("A change of server takes effect the next time lamefair starts.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.setMinimumWidth(620)  # a path or a URL fits without scrolling the field

    def settings(self) -> Settings | None:
        """The edited settings, or None with a message when a value cannot work."""
        server = self.server.text().strip().rstrip("/") or None
        if server and not server.startswith(("https://", "http://")):
            self.error.setText("The server URL starts with https:// (or http:// on a lab network).")
            return None
        ca_bundle = self.ca_bundle.text().strip() or None
        if ca_bundle and not Path(ca_bundle).expanduser().is_file():
            self.error.setText(f"The CA bundle {ca_bundle} does not exist.")
            return None
        try:
            default_timezone = self.default_timezone.zone()
        except ValueError as exc:
            self.error.setText(f"Instruments' time zone: {exc}.")
            return None
        fiji = self.fiji.text().strip() or None
        if fiji and fiji_launcher(fiji) is None:
            self.error.setText(
                f"Fiji: {fiji} is not a program. Choose Fiji's launcher (ImageJ-linux64 or "
                "fiji) or its Fiji.app folder with Browse…, or leave it empty to use Fiji from "
                "PATH."
            )
            self.fiji.setFocus()
            return None
        napari = self.napari.text().strip() or None
        if napari and not is_program(Path(napari).expanduser()):
            self.error.setText(
                f"napari: {napari} is not a program. Choose the napari command (bin/napari in "
                "the environment napari is installed in) with Browse…, or leave it empty to use "
                "napari from PATH."
            )
            self.napari.setFocus()
            return None
        return replace(
            self.original,
            default_pair=self.default_pair.currentData(),
            default_timezone=default_timezone,
            server_url=server,
            ca_bundle=ca_bundle,
            part_concurrency=self.parts.value(),
            file_concurrency=self.files.value(),
            cache_dir=self.cache.text().strip() or None,
            cache_size_mb=self.cache_size.value(),
            fiji_path=fiji,
            napari_path=napari,
        )

    def accept(self) -> None:
        if self.settings() is not None:
            super().accept()


def settings_problem_box(error: SettingsError, parent: QWidget | None = None) -> QMessageBox:
    """Names the file and what is wrong in it; offers to open its folder, or to quit."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle("lamefair settings")
    box.setText(f"lamefair cannot start: its settings file cannot be used.\n\n{error}")
    box.setInformativeText(
        "Fix or delete the file, then start lamefair again. The file was left as it is, and "
        "lamefair did not fall back to the local catalog."
    )
    folder = box.addButton("Open folder", QMessageBox.ButtonRole.ActionRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    # ActionRole buttons close the box too: open the folder, then quit like the other button.
    folder.clicked.connect(
        lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(error.path.parent)))
    )
    return box
