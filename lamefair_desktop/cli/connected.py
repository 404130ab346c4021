"""What every command that talks to a catalog shares: connecting (the server in the settings, or
the embedded local one), the local database, and known failures turned into exit codes.
"""

from __future__ import annotations

import gc
import sys

from lamefair_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OFFLINE, EXIT_SIGN_IN


def _connect():
    from lamefair_desktop.catalog.connection import connect

    return connect()  # imported here: `lamefair --help` stays instant


def run_connected(action) -> int:
    """Connect, run `action(connection)`, and turn known failures into exit codes."""
    from lamefair_desktop.catalog.client import CatalogError, CatalogUnreachable, SignInRequired
    from lamefair_desktop.catalog.local_server import LocalServerError
    from lamefair_desktop.catalog.tls import CaBundleError
    from lamefair_desktop.transfer.download import DownloadError
    from lamefair_desktop.transfer.errors import UploadError

    try:
        connection = _connect()
    except (LocalServerError, CaBundleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    gc.freeze()  # what start-up built lives as long as the command: never walked again
    try:
        return action(connection)
    except SignInRequired as exc:
        print(f"error: {exc} Run `lamefair login`.", file=sys.stderr)
        return EXIT_SIGN_IN
    except CatalogUnreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_OFFLINE
    except (CatalogError, UploadError, DownloadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        connection.close()


def local_db():
    from lamefair_desktop.home.local_db import open_local_db

    return open_local_db()
