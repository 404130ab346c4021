"""lamefair desktop: capture electron-microscopy data FAIR at acquisition time.

The package root stays import-light: `lamefair --version` must not pay for Qt or h5py, and
every command would pay ~35 ms to import importlib.metadata, so `__version__` is looked up
when it is first asked for.
"""

from functools import cache


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lamefair")
    except PackageNotFoundError:  # running from a tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
