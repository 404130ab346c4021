"""Start the desktop application: the `lamefair gui` command (and plain `lamefair`).

Qt is imported inside `run` only, so building the CLI parser never loads it.
"""

from __future__ import annotations

import argparse
import sys

from lamefair_desktop.cli import EXIT_USAGE, display_available


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

    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from lamefair_desktop import __version__
    from lamefair_desktop.resources import resource_path
    from lamefair_desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("lamefair")
    app.setOrganizationName("lamefair")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(resource_path("icons", "lamefair.svg"))))
    window = MainWindow()
    window.show()
    status = app.exec()
    # After the event loop: stopping the local catalog may take a few seconds of waiting.
    if window.local_server is not None:
        from lamefair_desktop import local_server

        local_server.stop(window.local_server)
    return status
