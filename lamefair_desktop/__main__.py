import sys

from lamefair_desktop.cli import main

sys.exit(main())
