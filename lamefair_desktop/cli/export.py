"""`lamefair export`: a measurement, an experiment or a proposal as an RO-Crate (`.eln`) for
publication, streamed from storage into the archive (export/job.py).

Exit codes: 0 written; 1 it could not be (a stored copy that does not match the catalog, storage
failing); 2 usage (no licence, an output that cannot be written, an unknown id or one you may
not read); 3 the catalog is unreachable; 4 sign in again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lamefair_desktop.cli.connected import run_connected
from lamefair_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

LICENSE_HELP = (
    "licence of the published data: an SPDX identifier (CC-BY-4.0, CC0-1.0, ...) or a URL. "
    "Required: the catalog does not record one, and lamefair will not choose for you"
)


def register_export(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--measurement", metavar="ID", help="export one measurement")
    what.add_argument("--experiment", metavar="ID", help="export an experiment's measurements")
    what.add_argument("--proposal", metavar="ID", help="export a whole proposal")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the .eln file to write")
    parser.add_argument("--license", "--licence", dest="license", help=LICENSE_HELP)
    parser.add_argument(
        "--links-only",
        action="store_true",
        help="put no raw bytes in the archive, only links to the catalog (with size and "
        "SHA-256); the NXem files, thumbnails and README texts are still included",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing output file")
    parser.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    from lamefair_desktop.export.job import ExportRequest, check_output, export_crate
    from lamefair_desktop.export.plan import BadExportInput, ExportError

    kind = next(k for k in ("measurement", "experiment", "proposal") if getattr(args, k))
    if not (args.license or "").strip():
        print(
            "error: --license is required (e.g. --license CC-BY-4.0): say under which licence "
            "the data is published.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    request = ExportRequest(
        kind, getattr(args, kind), args.output, args.license, args.links_only, args.force
    )
    try:
        check_output(request)  # before connecting: a typo in -o costs no catalog start
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    def action(connection) -> int:
        printer = _Printer()
        try:
            result = export_crate(connection.client, request, printer)
        except ExportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE if isinstance(exc, BadExportInput) else EXIT_FAILED
        linked = f", {result.linked} raw file(s) as links" if result.linked else ""
        print(f"wrote {result.output}: {result.files} file(s), {result.bytes} bytes{linked}")
        return EXIT_OK

    return run_connected(action)


class _Printer:
    """One line per file when it starts (plain: scripts and logs read it)."""

    def __init__(self) -> None:
        self.last = ""

    def __call__(self, progress) -> None:
        if progress.path and progress.path != self.last:
            self.last = progress.path
            print(
                f"[{progress.files_done + 1}/{progress.files_total}] {progress.path}",
                flush=True,
            )
