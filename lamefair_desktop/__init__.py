"""lamefair desktop: capture electron-microscopy data FAIR at acquisition time.

The package root stays import-light: `lamefair --version` must not pay for Qt or h5py.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lamefair")
except PackageNotFoundError:  # running from a tree that was never installed
    __version__ = "0+unknown"
