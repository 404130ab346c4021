"""`lamefair watch`: upload (and convert) what the acquisition software writes into a folder.

    lamefair watch DIR --experiment ID [--pair PAIR] ...   save the rule for DIR, then watch
    lamefair watch                                          watch every saved rule
    lamefair watch --list | --remove DIR

Runs until Ctrl+C or SIGTERM; files taken are queued durably, so stopping loses nothing and the next
start catches up. Exit codes: 0 stopped cleanly, 2 usage.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import uuid
from pathlib import Path

from lamefair_desktop.cli.exit_codes import EXIT_OK, EXIT_USAGE


def register_watch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", type=Path, metavar="DIR")
    parser.add_argument("--experiment", help="experiment id the files go to")
    parser.add_argument("--pair", default="generic", help="instrument pair (default: detect)")
    parser.add_argument("--operator", default="", help="operator name recorded with the files")
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="IANA time zone of the instrument's clock, e.g. Europe/Rome; default: the pair's, "
        "else this computer's (settings, then system)",
    )
    parser.add_argument("--include", action="append", default=[], metavar="PATTERN")
    parser.add_argument("--exclude", action="append", default=[], metavar="PATTERN")
    parser.add_argument(
        "--quiet", type=float, default=5.0, metavar="SECONDS", help="how long a file must rest"
    )
    parser.add_argument("--polling", action="store_true", help="no file events (network shares)")
    parser.add_argument("--done-marker", default="", help='e.g. "{name}.done": wait for it')
    parser.add_argument("--no-convert", action="store_true", help="do not convert TIFFs to NXem")
    parser.add_argument(
        "--free-space",
        action="store_true",
        help="delete local files once the catalog confirmed their SHA-256 (off by default)",
    )
    parser.add_argument("--list", action="store_true", help="list the saved rules and exit")
    parser.add_argument("--remove", action="store_true", help="forget the rule for DIR and exit")
    parser.set_defaults(handler=run_watch)


def run_watch(args: argparse.Namespace) -> int:
    from lamefair_desktop.cli.connected import local_db, run_connected
    from lamefair_desktop.cli.progress import TransferProgress
    from lamefair_desktop.engines.engines import Engines
    from lamefair_desktop.nexus.local_time import zone_info
    from lamefair_desktop.watch.rules import DEFAULT_EXCLUDE, WatchRule, WatchStore

    if args.folder is not None and not args.folder.is_dir() and not args.remove:
        print(f"error: {args.folder} is not a folder.", file=sys.stderr)
        return EXIT_USAGE
    if args.timezone is not None:
        try:
            zone_info(args.timezone)
        except ValueError as exc:
            print(f"error: --timezone: {exc}", file=sys.stderr)
            return EXIT_USAGE
    printer = TransferProgress()

    def action(connection) -> int:
        sessions = local_db()
        store = WatchStore(sessions)
        server = connection.client.catalog_key
        if args.list:
            for rule in store.rules(server):
                target = rule.experiment_id or "(the experiment selected in the app)"
                state = "" if rule.enabled else " (disabled)"
                zone = rule.timezone or "(default time zone)"
                print(f"{rule.folder}\t{target}\t{rule.pair}\t{zone}{state}")
            return EXIT_OK
        if args.folder is not None:
            folder = str(args.folder.resolve())
            existing = store.find_rule(server, folder)
            if args.remove:
                if existing is None:
                    print(f"error: no rule for {folder}.", file=sys.stderr)
                    return EXIT_USAGE
                store.remove_rule(existing.id)
                print(f"forgot the rule for {folder} (files already taken stay uploaded)")
                return EXIT_OK
            if not args.experiment and existing is None:
                print("error: --experiment is required for a new watch folder.", file=sys.stderr)
                return EXIT_USAGE
            rule = WatchRule(
                id=existing.id if existing else str(uuid.uuid4()),
                server=server,
                folder=folder,
                experiment_id=args.experiment or existing.experiment_id,
                pair=args.pair,
                operator=args.operator,
                include=tuple(args.include),
                exclude=DEFAULT_EXCLUDE + tuple(args.exclude),
                quiet_seconds=args.quiet,
                polling=args.polling,
                convert=not args.no_convert,
                free_space=args.free_space,
                done_marker=args.done_marker,
                timezone=args.timezone,
            )
            store.save_rule(rule)
        if not store.rules(server):
            print(
                "error: no watch folder yet: `lamefair watch DIR --experiment ID`.", file=sys.stderr
            )
            return EXIT_USAGE

        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        engines = Engines(connection.client, sessions, lambda event: _print(printer, event))
        engines.start()
        print("watching; Ctrl+C stops (queued files are kept and resume next time)", flush=True)
        while not stop.wait(0.5):
            pass
        engines.stop()
        print("stopped", flush=True)
        return EXIT_OK

    with printer:
        return run_connected(action)


def _print(printer, event) -> None:
    """The engines' events as terminal lines (progress bars on a terminal)."""
    from lamefair_desktop.engines.messages import EngineFailed
    from lamefair_desktop.transfer.derived import DerivedJob
    from lamefair_desktop.transfer.progress import FileProgress
    from lamefair_desktop.watch.rules import WatchEvent

    if isinstance(event, FileProgress):
        printer.progress(event.path, event.bytes_done, event.size, event.state, event.error)
    elif isinstance(event, DerivedJob):
        print(f"NXem: {event.rel_path}: {event.verdict} {event.error}".rstrip(), flush=True)
    elif isinstance(event, WatchEvent):
        print(f"[{event.level}] {event.message}", flush=True)
    elif isinstance(event, EngineFailed):
        print(f"[error] the {event.engine} engine: {event.message}; it starts again", flush=True)
