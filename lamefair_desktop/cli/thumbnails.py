"""`lamefair thumbnails --missing [--proposal P]`: PNG thumbnails for NXem files stored before
the converter made them (transfer/thumbnail_backfill.py does the work, this prints it)."""

from __future__ import annotations

import argparse
import sys

from lamefair_desktop.cli.connected import run_connected
from lamefair_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def register_thumbnails(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--missing",
        action="store_true",
        help="make the thumbnails of stored NXem files that have none (the only mode so far)",
    )
    parser.add_argument(
        "--proposal", metavar="NUMBER|ID", help="only this proposal's files (default: all yours)"
    )
    parser.set_defaults(handler=run_thumbnails)


def run_thumbnails(args: argparse.Namespace) -> int:
    if not args.missing:
        print(
            "error: say what to do: `lamefair thumbnails --missing` makes the thumbnails that "
            "are missing.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    proposal = (args.proposal or "").strip() or None

    def action(connection) -> int:
        from lamefair_desktop.transfer.thumbnail_backfill import fill_missing_thumbnails

        client = connection.client
        if proposal is not None and not _known_proposal(client, proposal):
            print(
                f"error: no proposal {proposal!r} that you may read; give its number or id "
                "(`lamefair ls PROJECT` lists them).",
                file=sys.stderr,
            )
            return EXIT_USAGE

        def show(step) -> None:
            outcome = "thumbnail stored" if not step.error else f"FAILED: {step.error}"
            print(f"[{step.number}] {step.bucket}/{step.key}: {outcome}", flush=True)

        summary = fill_missing_thumbnails(client, proposal, progress=show)
        where = f" in proposal {proposal}" if proposal else ""
        if not summary.made and not summary.failed:
            print(f"Every stored NXem file{where} has its thumbnail; nothing to do.")
            return EXIT_OK
        print(f"{summary.made} thumbnail(s) made, {len(summary.failed)} failed{where}.")
        for step in summary.failed:
            print(f"  {step.bucket}/{step.key}: {step.error}", file=sys.stderr)
        return EXIT_FAILED if summary.failed else EXIT_OK

    return run_connected(action)


def _known_proposal(client, proposal: str) -> bool:
    return any(proposal in (str(p["id"]), p["number"]) for p in client.get("/api/proposals"))
