"""lamefair catalog server: the project hierarchy, presigned S3 transfers, READMEs and access control."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lamefair")
except PackageNotFoundError:  # running from a tree that was never installed
    __version__ = "0+unknown"
