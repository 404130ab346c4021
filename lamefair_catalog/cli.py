"""`lamefair-catalog`: run and administer the catalog server."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from lamefair_catalog import __version__

EXIT_ALREADY_RUNNING = 3  # embedded mode: another server owns the data folder (clients reuse it)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lamefair-catalog",
        description="The lamefair catalog server: project hierarchy, presigned S3 transfers, "
        "README files next to the data, access control. Configured by LAMEFAIR_* environment "
        "variables (see the README); --embedded needs none.",
    )
    parser.add_argument("--version", action="version", version=f"lamefair-catalog {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8700; embedded: free)")
    serve.add_argument(
        "--embedded",
        action="store_true",
        help="local mode: SQLite and a SeaweedFS it starts itself, bound to 127.0.0.1 only",
    )
    serve.add_argument("--data-dir", type=Path, default=None, help="embedded mode's data folder")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    serve.add_argument(
        "--log-file",
        type=Path,
        default=None,
        help="write the log to this file, rotated at 5 MB with 5 old files kept "
        "(default: standard error)",
    )
    serve.add_argument(
        "--ssl-certfile",
        type=Path,
        default=None,
        help="serve HTTPS with this certificate (PEM, with its chain); needs --ssl-keyfile",
    )
    serve.add_argument("--ssl-keyfile", type=Path, default=None, help="the certificate's key")

    sub.add_parser("migrate", help="apply database migrations (LAMEFAIR_DATABASE_URL)")

    fixity = sub.add_parser(
        "fixity",
        help="re-read stored objects and compare their SHA-256 with the catalog's",
        description="One full pass over every stored raw and derived object (resuming an "
        "unfinished one), or with --every a pass per period, spread over it. Several processes "
        "may run at once on one PostgreSQL database: they share the pass. Exit 0: no damage; "
        "1: objects damaged or missing (one line each); 4: some could not be read; 2: setup.",
    )
    fixity.add_argument(
        "--rate",
        type=byte_rate,
        default=None,
        metavar="RATE",
        help="read at most this much per second, e.g. 50MiB/s (default: as fast as storage gives)",
    )
    fixity.add_argument(
        "--every",
        type=period,
        default=None,
        metavar="PERIOD",
        help="keep running: a full pass every PERIOD (e.g. 30d, 12h, 90m), spread over it",
    )
    return parser


UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "ki": 1024, "mi": 1024**2, "gi": 1024**3}
PERIOD_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def byte_rate(text: str) -> float:
    """`50MiB/s`, `20MB/s`, `1GiB/s` or bytes per second."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]i?)?b?(?:/s)?\s*", text, re.IGNORECASE)
    if not match or float(match[1]) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate; write it like 50MiB/s")
    return float(match[1]) * UNITS[(match[2] or "").lower()]


def period(text: str) -> float:
    """`30d`, `12h`, `90m`, `3600s`, `2w` in seconds."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text, re.IGNORECASE)
    if not match or float(match[1]) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a period; write it like 30d or 12h")
    return float(match[1]) * PERIOD_UNITS[match[2].lower()]


LOG_MAX_BYTES = 5 * 1024 * 1024  # as the desktop's logs: weeks of requests at INFO
LOG_BACKUPS = 5


def _serve_embedded(args: argparse.Namespace) -> int:
    from lamefair_catalog.embedded.seaweed import SeaweedError
    from lamefair_catalog.embedded.stack import default_data_dir

    if args.host not in ("127.0.0.1", "localhost"):
        print("Embedded mode binds 127.0.0.1 only; drop --host.", file=sys.stderr)
        return 2
    if args.ssl_certfile or args.ssl_keyfile:
        print("Embedded mode serves this machine only, over HTTP; drop --ssl-*.", file=sys.stderr)
        return 2
    data_dir = (args.data_dir or default_data_dir()).expanduser().resolve()
    stack = _claim_data_dir(data_dir)
    if stack is None:
        return EXIT_ALREADY_RUNNING
    # SeaweedFS first: it takes seconds to become ready, which the imports, the migration and
    # building the app below can use (the desktop waits for all of it when it starts us).
    try:
        stack.launch()
    except (SeaweedError, OSError) as exc:
        print(f"Could not start local storage: {exc}", file=sys.stderr)
        return 1
    try:
        return _run_embedded(stack, args, data_dir)
    except SystemExit:
        return 0
    finally:
        stack.stop()


def _claim_data_dir(data_dir: Path):
    """The embedded stack owning `data_dir`, or None (said why) when another server has it."""
    from lamefair_catalog.embedded.stack import (
        AlreadyRunning,
        EmbeddedStack,
        pid_alive,
        read_server_info,
    )

    running = read_server_info(data_dir)
    if running is not None and pid_alive(running.pid):
        print(
            f"An embedded catalog for {data_dir} is already running at {running.url} "
            f"(pid {running.pid}).",
            file=sys.stderr,
        )
        return None
    try:
        return EmbeddedStack(data_dir)
    except AlreadyRunning as exc:
        print(f"{exc} Use that one, or stop it first.", file=sys.stderr)
        return None


def _run_embedded(stack, args: argparse.Namespace, data_dir: Path) -> int:
    """Migrate, wait for SeaweedFS, serve until stopped (the caller stops the stack)."""
    import uvicorn

    from lamefair_catalog.database.engine import make_engine, migrate
    from lamefair_catalog.embedded.ports import free_port
    from lamefair_catalog.embedded.seaweed import SeaweedError
    from lamefair_catalog.web.app import create_app

    engine = make_engine(stack.database_url)
    migrate(engine)
    engine.dispose()
    try:
        stack.wait_ready()
    except SeaweedError as exc:
        print(f"Could not start local storage: {exc}", file=sys.stderr)
        return 1
    # Only once storage is up: it may have started again on other ports (one had been taken).
    app = create_app(stack.settings(), start_verdicts=False)
    # Only now: its backlog downloads would meet a storage still booting (and open the
    # storage breaker for the first requests of the desktop).
    app.state.verdicts.start()
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    config = uvicorn.Config(app, host="127.0.0.1", port=port, **_log_options(args))
    server = uvicorn.Server(config)
    stack.publish(url)
    print(f"lamefair catalog (embedded) at {url}, data in {data_dir}", flush=True)
    # uvicorn shuts down gracefully on SIGTERM and then re-raises the signal to the handler
    # that was there before it: make that handler an exception, so `finally` in the caller
    # still stops SeaweedFS instead of the default action killing us and orphaning it.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    server.run()
    return 0


def _log_options(args: argparse.Namespace) -> dict:
    """uvicorn's logging: its own (to stderr), or with --log-file every record of the server
    (requests, storage, verdicts) into a file rotated by size. The embedded catalog runs for
    months beside a watch folder; a redirected stderr would grow without bound. The per-request
    lines (web/observe.py) follow --log-level too: `warning` keeps only failed requests."""
    logging.getLogger("lamefair_catalog.requests").setLevel(args.log_level.upper())
    if args.log_file is None:
        return {"log_level": args.log_level}
    from logging.handlers import RotatingFileHandler

    # One writer: the embedded catalog owns its data folder (a second one exits at start).
    handler = RotatingFileHandler(
        args.log_file, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(args.log_level.upper())
    return {"log_level": args.log_level, "log_config": None}  # uvicorn's records reach root


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from lamefair_catalog.web.app import create_app

    if (args.ssl_certfile is None) != (args.ssl_keyfile is None):
        print("--ssl-certfile and --ssl-keyfile go together: give both.", file=sys.stderr)
        return 2
    settings = _settings_from_env()
    if settings is None:
        return 2
    engine = _migrated_engine(settings)
    if engine is None:
        return 2
    engine.dispose()
    if not settings.oidc_issuer:
        print(
            "LAMEFAIR_OIDC_ISSUER is not set: nobody could sign in. Set it (and "
            "LAMEFAIR_OIDC_CLIENT_ID), or use `serve --embedded` for a local single-user server.",
            file=sys.stderr,
        )
        return 2
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port or 8700,
        **_log_options(args),  # several processes: give each its own --log-file
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
    )
    return 0


def _settings_from_env():
    """The server's settings, or None once every malformed variable has been named."""
    from lamefair_catalog.settings import Settings, SettingsError

    try:
        return Settings.from_env()
    except SettingsError as exc:
        for line in exc.lines:
            print(f"error: {line}", file=sys.stderr)
        return None


def _migrated_engine(settings):
    """An engine on a database at the current schema, or None once the reason is printed (not
    migrated: run `migrate`; or not reachable): `serve` and `fixity` refuse to start alike."""
    from lamefair_catalog.database.engine import NotMigrated, ensure_migrated, make_engine

    engine = make_engine(settings.database_url, connect_timeout=settings.db_connect_timeout)
    try:
        ensure_migrated(engine)
    except NotMigrated as exc:
        print(str(exc), file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - any driver error means: cannot reach the database
        print(f"Cannot open the catalog database: {exc.__class__.__name__}.", file=sys.stderr)
    else:
        return engine
    engine.dispose()
    return None


def _migrate(args: argparse.Namespace) -> int:
    from lamefair_catalog.database.engine import (
        MigrationRefused,
        current_revision,
        make_engine,
        migrate,
    )

    settings = _settings_from_env()
    if settings is None:
        return 2
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
    except MigrationRefused as exc:  # nothing applied: the migrations run in one transaction
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Catalog database at schema revision {current_revision(engine)}.")
    return 0


EXIT_DAMAGED = 1  # fixity: objects damaged or missing
EXIT_UNREADABLE = 4  # fixity: no damage found, but some objects could not be read


def _fixity(args: argparse.Namespace) -> int:
    import threading

    from lamefair_catalog.database.engine import database_breaker, make_session_factory
    from lamefair_catalog.domain.catalog import Catalog
    from lamefair_catalog.domain.fixity import now
    from lamefair_catalog.domain.fixity_pass import next_start, run_pass
    from lamefair_catalog.storage.gateway import Storage

    settings = _settings_from_env()
    if settings is None:
        return 2
    engine = _migrated_engine(settings)
    if engine is None:
        return 2
    catalog = Catalog(
        settings,
        make_session_factory(engine),
        Storage(settings),
        database_breaker(engine, settings.outage_cool_down),
        known_pairs=frozenset(),
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    damaged = unreadable = False
    while not stop.is_set():
        report = run_pass(catalog, stop, rate=args.rate, period=args.every, say=_say)
        damaged |= bool(report.problems)
        unreadable |= bool(report.errors)
        if report.pass_id is not None:
            _say(
                f"Fixity pass {report.pass_id}: {report.checked} object(s) checked here, "
                f"{len(report.problems)} damaged or missing, {len(report.errors)} not readable"
                + ("; the pass is complete." if report.finished else ".")
            )
        if args.every is None:
            break
        start = next_start(catalog, args.every)
        wait = 60.0 if start is None else (start - now()).total_seconds()
        stop.wait(min(max(wait, 1.0), 3600.0))
    engine.dispose()
    return EXIT_DAMAGED if damaged else EXIT_UNREADABLE if unreadable else 0


def _say(line: str) -> None:
    print(line, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "serve":
        return _serve_embedded(args) if args.embedded else _serve(args)
    if args.command == "fixity":
        return _fixity(args)
    return _migrate(args)


if __name__ == "__main__":
    sys.exit(main())
