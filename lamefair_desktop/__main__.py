import sys

from lamefair_desktop.cli.main import main

sys.exit(main())
