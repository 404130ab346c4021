"""Colours that follow the system's light or dark palette, and the dark palette itself.

No widget hard-codes a colour: a fixed dark red read well on Fusion's light grey and not at all on
a dark palette (contrast 2.4:1). The one colour lamefair adds, the red of a problem, is picked
here from the palette in force, the darkest or lightest candidate that keeps WCAG's 4.5:1 against
both the window and the view backgrounds; `ProblemLabel` picks it again whenever the palette
changes (a switch of the system's colour scheme at run time).

Where the platform switches palettes itself (Windows, macOS, GNOME and KDE themes), nothing more
is needed. Where it only reports the scheme (QStyleHints.colorScheme) and keeps Fusion's light
palette (xcb without a desktop theme), `follow_colour_scheme` sets the dark palette below.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QLabel

READABLE = 4.5  # WCAG AA for normal text
PROBLEM_REDS = ("#b3261e", "#8c1d18", "#ff8a80", "#ffb4ab")  # for light, then dark backgrounds

Role = QPalette.ColorRole
DARK = {
    Role.Window: "#2b2b2e",
    Role.WindowText: "#e8e8e8",
    Role.Base: "#1f1f22",
    Role.AlternateBase: "#28282c",
    Role.Text: "#e8e8e8",
    Role.Button: "#38383c",
    Role.ButtonText: "#e8e8e8",
    Role.BrightText: "#ffffff",
    Role.Highlight: "#3d6fb4",
    Role.HighlightedText: "#ffffff",
    Role.ToolTipBase: "#38383c",
    Role.ToolTipText: "#e8e8e8",
    Role.PlaceholderText: "#a0a0a0",
    Role.Link: "#8ab4f8",
    Role.LinkVisited: "#c58af9",
    Role.Light: "#4a4a4f",
    Role.Midlight: "#404045",
    Role.Mid: "#303034",
    Role.Dark: "#18181a",
    Role.Shadow: "#0c0c0d",
}
DARK_DISABLED = {Role.WindowText, Role.Text, Role.ButtonText}


def luminance(colour: QColor) -> float:
    """WCAG's relative luminance (sRGB, 0 black to 1 white)."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * linear(colour.redF())
        + 0.7152 * linear(colour.greenF())
        + 0.0722 * linear(colour.blueF())
    )


def contrast(a: QColor, b: QColor) -> float:
    """WCAG's contrast ratio, 1 (none) to 21 (black on white)."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def is_dark(palette: QPalette) -> bool:
    return luminance(palette.color(Role.Window)) < luminance(palette.color(Role.WindowText))


def problem_colour(palette: QPalette | None = None) -> QColor:
    """The red of a problem that reads on this palette's window and views."""
    palette = palette or QApplication.palette()
    backgrounds = (palette.color(Role.Window), palette.color(Role.Base))
    candidates = [QColor(name) for name in PROBLEM_REDS]
    for colour in candidates:
        if all(contrast(colour, background) >= READABLE for background in backgrounds):
            return colour
    return max(candidates, key=lambda c: min(contrast(c, b) for b in backgrounds))


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, name in DARK.items():
        palette.setColor(role, QColor(name))
    for role in DARK_DISABLED:
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7c7c80"))
    return palette


def apply_colour_scheme(scheme: Qt.ColorScheme) -> None:
    """Dark: the dark palette unless the platform already gave one; light or unknown: the
    platform's own palette again (only if we had replaced it; an empty palette resets to it)."""
    app = QApplication.instance()
    if app is None:
        return
    ours = bool(app.property("lamefair-dark"))
    if scheme == Qt.ColorScheme.Dark and not is_dark(app.palette()):
        app.setPalette(dark_palette())
        app.setProperty("lamefair-dark", True)
    elif scheme != Qt.ColorScheme.Dark and ours:
        app.setPalette(QPalette())
        app.setProperty("lamefair-dark", False)


def follow_colour_scheme(app: QGuiApplication) -> None:
    """Follow the system's colour scheme now and whenever it changes while lamefair runs."""
    hints = app.styleHints()
    hints.colorSchemeChanged.connect(apply_colour_scheme)
    apply_colour_scheme(hints.colorScheme())


class ProblemLabel(QLabel):
    """A label that says what went wrong, in the problem red of the palette in force (or, made
    inactive, in the palette's ordinary text colour: a line that is a problem only sometimes)."""

    def __init__(self, text: str = "", parent=None, *, active: bool = True) -> None:
        super().__init__(text, parent)
        self._recolouring = False
        self._active = active
        self._recolour()

    def set_active(self, active: bool) -> None:
        self._active = active
        self._recolour()

    def _recolour(self) -> None:
        self._recolouring = True  # setPalette sends a PaletteChange of its own
        try:
            app = QApplication.palette()
            palette = self.palette()
            colour = problem_colour(app) if self._active else app.color(Role.WindowText)
            palette.setColor(Role.WindowText, colour)
            self.setPalette(palette)
        finally:
            self._recolouring = False

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        super().changeEvent(event)
        kinds = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)
        if event.type() in kinds and not self._recolouring:
            self._recolour()
