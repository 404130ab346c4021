"""Start the desktop application: the `lamefair gui` command (and plain `lamefair`).

Qt is imported inside `run` only, so building the CLI parser never loads it.
"""

from __future__ import annotations

import argparse
import os
import sys

from lamefair_desktop.cli.exit_codes import EXIT_USAGE


def display_available() -> bool:
    """Whether Qt can open a window: a display on Linux, or a platform plugin that needs none."""
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform in {"offscreen", "minimal", "vnc", "linuxfb", "eglfs"}:
        return True
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True  # Windows and macOS always have their window system


def missing_xcb_libraries() -> list[str]:
    """On X11, the libraries Qt's xcb plugin loads that this system lacks (Qt would abort)."""
    if not sys.platform.startswith("linux") or not os.environ.get("DISPLAY"):
        return []
    if os.environ.get("QT_QPA_PLATFORM", "xcb").split(":")[0] != "xcb":
        return []
    import ctypes.util

    needed = ["xcb-icccm", "xcb-keysyms", "xcb-cursor", "xkbcommon-x11"]
    return [f"lib{name}" for name in needed if ctypes.util.find_library(name) is None]


UI_SWITCH_INTERVAL = 0.0002  # seconds; Python's default is 0.005


def favour_the_ui_thread() -> None:
    """Registering new files, downloads and previews still run in this process's
    threads (uploads, conversions and watch folders have a process of their own). With the
    default 5 ms switch interval, a dozen busy threads on two cores made the UI thread wait up to
    180 ms for the GIL; at 0.2 ms, 68 ms at worst, with no measurable loss of throughput
    (bench/ui_bench.py, before the engines moved out)."""
    sys.setswitchinterval(UI_SWITCH_INTERVAL)


def _quit_on_termination(app) -> None:
    """SIGTERM/SIGINT (a logout, `kill`, Ctrl+C in the terminal) close the window cleanly: the
    queues are at a clean point and the local catalog we started is stopped, not orphaned.
    Python runs signal handlers between bytecodes, so a timer gives it a chance in Qt's loop."""
    import signal

    from PySide6.QtCore import QTimer

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: app.closeAllWindows() or app.quit())
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)


def register(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not display_available():
        print(
            "lamefair's desktop window needs a display, and this session has none "
            "(DISPLAY and WAYLAND_DISPLAY are unset).\n"
            "Use the command-line interface instead: `lamefair --help` lists the commands "
            "(convert, inspect, upload, ...).",
            file=sys.stderr,
        )
        return EXIT_USAGE

    missing = missing_xcb_libraries()
    if missing:
        print(
            "lamefair cannot open its window: Qt's X11 support needs these system libraries: "
            f"{', '.join(missing)}.\nInstall them (Debian/Ubuntu: sudo apt-get install "
            "libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0), or use the CLI "
            "(`lamefair --help`).",
            file=sys.stderr,
        )
        return EXIT_USAGE

    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from lamefair_desktop import __version__
    from lamefair_desktop.engines.workspace import Workspace
    from lamefair_desktop.home.settings import Settings, SettingsError
    from lamefair_desktop.resources import resource_path
    from lamefair_desktop.ui.dialogs.crash_dialog import CrashReporter, setup_logging
    from lamefair_desktop.ui.dialogs.settings_dialog import settings_problem_box
    from lamefair_desktop.ui.look import follow_colour_scheme
    from lamefair_desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    try:  # checked before the window: a broken file must not mean the local catalog
        settings = Settings.load()
    except SettingsError as exc:
        settings_problem_box(exc).exec()
        return EXIT_USAGE
    favour_the_ui_thread()
    reporter = CrashReporter(setup_logging())
    reporter.install()
    app.setApplicationName("lamefair")
    app.setOrganizationName("lamefair")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(resource_path("icons", "lamefair.svg"))))
    follow_colour_scheme(app)  # the system's light or dark palette, also when it switches
    window = MainWindow(open_workspace=lambda: Workspace.open(settings))
    window.show()
    _quit_on_termination(app)
    status = app.exec()
    # After the event loop: stopping the local catalog may take a few seconds of waiting.
    window.shutdown()
    return status
