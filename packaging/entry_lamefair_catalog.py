"""Frozen entry point of `lamefair-catalog` (the desktop starts it for the local catalog)."""

import sys

from lamefair_catalog.cli import main

sys.exit(main())
