"""Frozen entry point of `lamefair` (PyInstaller needs a script, not a console_scripts entry)."""

import sys

from lamefair_desktop.cli import main

sys.exit(main())
