"""The exit codes of every `lamefair` command, in one place: scripts on microscope PCs branch on them.

A module of its own so that command modules and the GUI's entry take them without importing the
top CLI module (which imports every command module).
"""

EXIT_OK = 0
EXIT_FAILED = 1  # something could not be done (a file not converted, a request refused)
EXIT_USAGE = 2  # the command line or its inputs are wrong; nothing was done
EXIT_OFFLINE = 3  # the catalog or storage is unreachable; the work waits in the queue
EXIT_SIGN_IN = 4  # signing in is needed first
EXIT_NOT_VALID = 5  # converted, but the file is NOT valid NXem (FAIRmat validator, or structure)
EXIT_NO_VALIDATOR = 6  # asked for the FAIRmat validator, which is not installed: structure only
