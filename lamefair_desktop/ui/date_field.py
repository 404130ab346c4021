"""Date and date-time fields with a calendar popup that may also be left empty ("not set").

Qt's date edits always hold a date; the catalog's dates are optional. The empty value is the
field's minimum date, shown as "not set" (Qt's special value text), and `value_text()` gives "" for it,
so the forms keep parsing text as before. Opening the calendar on an empty field shows this
month, not the minimum's (January 1900).
"""

from __future__ import annotations

from PySide6.QtCore import QDate, QDateTime, QEvent, QTime
from PySide6.QtWidgets import QDateEdit, QDateTimeEdit, QWidget

UNSET = QDateTime(QDate(1900, 1, 1), QTime(0, 0))
FORMATS = {False: "yyyy-MM-dd", True: "yyyy-MM-dd HH:mm"}


class _Optional:
    with_time = False

    def _setup(self) -> None:
        self.setCalendarPopup(True)
        self.setDisplayFormat(FORMATS[self.with_time])
        self.setMinimumDateTime(UNSET)
        self.setSpecialValueText("not set")
        self.setDateTime(UNSET)
        self.calendarWidget().installEventFilter(self)  # creates the popup's calendar

    def is_set(self) -> bool:
        return self.dateTime() != UNSET

    def value_text(self) -> str:
        return self.dateTime().toString(FORMATS[self.with_time]) if self.is_set() else ""

    def set_text(self, value: str) -> None:
        """ "YYYY-MM-DD" (and " HH:MM"); "" or anything unreadable leaves it not set."""
        value = value.strip().replace("T", " ")[: len(FORMATS[self.with_time])]
        if self.with_time:
            moment = QDateTime.fromString(value, FORMATS[True])
            if not moment.isValid():  # a date alone: midnight
                moment = QDateTime(QDate.fromString(value[:10], FORMATS[False]), QTime(0, 0))
        else:
            moment = QDateTime(QDate.fromString(value, FORMATS[False]), QTime(0, 0))
        self.setDateTime(moment if moment.isValid() else UNSET)

    def clear_value(self) -> None:
        self.setDateTime(UNSET)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's naming
        # The popup sets its calendar to the field's date just before showing it: for an empty
        # field that is January 1900, so turn to this month once it shows.
        if event.type() == QEvent.Type.Show and not self.is_set():
            today = QDate.currentDate()
            watched.setCurrentPage(today.year(), today.month())
        return False


class DateField(_Optional, QDateEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._setup()


class DateTimeField(_Optional, QDateTimeEdit):
    with_time = True

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._setup()
