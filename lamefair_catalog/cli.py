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
    return parser


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

    settings = stack.settings()
    engine = make_engine(settings.database_url)
    migrate(engine)
    engine.dispose()
    app = create_app(settings, start_verdicts=False)
    try:
        stack.wait_ready()
    except SeaweedError as exc:
        print(f"Could not start local storage: {exc}", file=sys.stderr)
        return 1
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
    months beside a watch folder; a redirected stderr would grow without bound."""
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

    from lamefair_catalog.database.engine import NotMigrated, ensure_migrated, make_engine
    from lamefair_catalog.web.app import create_app

    if (args.ssl_certfile is None) != (args.ssl_keyfile is None):
        print("--ssl-certfile and --ssl-keyfile go together: give both.", file=sys.stderr)
        return 2
    settings = _settings_from_env()
    if settings is None:
        return 2
    engine = make_engine(settings.database_url, connect_timeout=settings.db_connect_timeout)
    try:
        ensure_migrated(engine)
    except NotMigrated as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - any driver error means: cannot reach the database
        print(f"Cannot open the catalog database: {exc.__class__.__name__}.", file=sys.stderr)
        return 2
    finally:
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


def _migrate(args: argparse.Namespace) -> int:
    from lamefair_catalog.database.engine import current_revision, make_engine, migrate

    settings = _settings_from_env()
    if settings is None:
        return 2
    engine = make_engine(settings.database_url)
    migrate(engine)
    print(f"Catalog database at schema revision {current_revision(engine)}.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "serve":
        return _serve_embedded(args) if args.embedded else _serve(args)
    return _migrate(args)


if __name__ == "__main__":
    sys.exit(main())
