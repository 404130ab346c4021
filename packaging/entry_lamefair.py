"""Frozen entry point of `lamefair` (PyInstaller needs a script, not a console_scripts entry).

One executable serves both programs: `lamefair catalog ...` is the catalog server (what
`lamefair-catalog` is in a Python install), which the desktop starts for its local catalog. One
executable means one PyInstaller analysis: half the build time, one copy of every library.
"""

import multiprocessing
import sys

# The engines' process is spawned from this executable (lamefair_desktop/engines/process.py):
# in a child, this runs the engines and exits instead of starting another window.
multiprocessing.freeze_support()

if sys.argv[1:2] == ["catalog"]:
    from lamefair_catalog.cli import main as catalog_main

    sys.exit(catalog_main(sys.argv[2:]))

from lamefair_desktop.cli.main import main  # noqa: E402 - after freeze_support, on purpose

sys.exit(main())
