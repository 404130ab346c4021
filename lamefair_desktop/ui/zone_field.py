"""A field for the instrument clock's time zone: an IANA name typed or picked (with completion
from the system's zone list), checked against the zone database, never an offset."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

from lamefair_desktop.nexus.local_time import zone_info


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


class ZoneField(QComboBox):
    def __init__(
        self, zone: str | None = None, *, placeholder: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.addItems(["", *_zone_names()])
        completer = QCompleter(_zone_names(), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)  # "Tokyo" finds Asia/Tokyo
        self.setCompleter(completer)
        self.lineEdit().setPlaceholderText(placeholder)
        self.setCurrentText(zone or "")

    def zone(self) -> str | None:
        """The zone named, or None when the field is empty; ValueError for an unknown name,
        with the expected form (an IANA name such as Europe/Berlin)."""
        name = self.currentText().strip()
        if not name:
            return None
        zone_info(name)
        return name
