"""`lamefair`: the GUI when called alone, the headless CLI through subcommands.

Subcommand modules are imported only when used, so `lamefair --version` stays instant and the CLI
never pulls in Qt.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Callable, Sequence

import lamefair_desktop
from lamefair_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

# name -> (help, module path of a `register(subparser)` function). Each command module adds its
# own arguments and sets `handler`, which returns an exit code.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "gui": ("start the desktop application (the default)", "lamefair_desktop.ui.app", "register"),
    "convert": (
        "convert vendor images (TIFF, DM3/DM4, Velox EMD) to NeXus/NXem",
        "lamefair_desktop.cli.nexus",
        "register_convert",
    ),
    "validate": (
        "check a NeXus file against NXem",
        "lamefair_desktop.cli.nexus",
        "register_validate",
    ),
    "inspect": (
        "print an image's flattened metadata or a NeXus tree",
        "lamefair_desktop.cli.nexus",
        "register_inspect",
    ),
    "ls": ("list the catalog", "lamefair_desktop.cli.transfer", "register_ls"),
    "upload": (
        "upload files or folders into an experiment",
        "lamefair_desktop.cli.transfer",
        "register_upload",
    ),
    "download": (
        "download a file or a bucket folder",
        "lamefair_desktop.cli.transfer",
        "register_download",
    ),
    "queue": (
        "show the upload queue (--resume: finish it)",
        "lamefair_desktop.cli.transfer",
        "register_queue",
    ),
    "login": (
        "sign in to the catalog's identity provider",
        "lamefair_desktop.cli.auth",
        "register_login",
    ),
    "logout": (
        "sign out and forget the stored tokens",
        "lamefair_desktop.cli.auth",
        "register_logout",
    ),
    "watch": (
        "upload what the microscope writes into a folder (watch folders)",
        "lamefair_desktop.cli.watch",
        "register_watch",
    ),
    "export": (
        "write a measurement, experiment or proposal as an RO-Crate (.eln) for publication",
        "lamefair_desktop.cli.export",
        "register_export",
    ),
    "search": (
        "find files by what the microscope did (voltage, pixel size, detector...)",
        "lamefair_desktop.cli.search",
        "register_search",
    ),
    "sync": (
        "send offline changes and refresh the local catalog",
        "lamefair_desktop.cli.transfer",
        "register_sync",
    ),
    "thumbnails": (
        "make the PNG thumbnails of stored NXem files that have none (--missing)",
        "lamefair_desktop.cli.thumbnails",
        "register_thumbnails",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lamefair",
        description="FAIR capture of electron-microscopy data. Without a command, starts the GUI.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation offscreen (window, mappings, conversion, keyring, local "
        "stack) and exit 0 only if all pass",
    )
    verbose = {
        "action": "count",
        "help": "say more on stderr: -v what is being done, -vv every detail",
    }
    parser.add_argument("-v", "--verbose", default=0, **verbose)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, module_path, function) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        # Also after the command (`lamefair convert -v`); SUPPRESS keeps a `lamefair -v convert`.
        command_parser.add_argument("-v", "--verbose", default=argparse.SUPPRESS, **verbose)
        module = importlib.import_module(module_path)
        getattr(module, function)(command_parser)
    return parser


class _Version(argparse.Action):
    """`--version`, looked up only when asked for (importlib.metadata costs every command)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"lamefair {lamefair_desktop.__version__}")
        parser.exit()


# Start-up imports leave ~300,000 long-lived objects, which the default thresholds (700, 10, 10)
# walk again in every full collection while a transfer runs: 5-10 % of `lamefair upload`'s CPU.
# Rarer collections (still bounded), and the start-up's objects frozen once connected
# (cli/connected.py), make that cost vanish.
GC_THRESHOLDS = (50_000, 20, 20)


def main(argv: Sequence[str] | None = None) -> int:
    gc.set_threshold(*GC_THRESHOLDS)
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(args_list or ["gui"])
    if args.self_test:
        from lamefair_desktop.ui.self_test import main as self_test

        return self_test()
    if args.command is None:
        args = parser.parse_args([*args_list, "gui"])
    handler: Callable[[argparse.Namespace], int] = args.handler
    if args.command != "gui":  # the window logs to its own file (ui/crash_dialog.py)
        from lamefair_desktop.cli import console_log

        console_log.configure(args.verbose)
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `lamefair inspect ... | head`
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - a bug must still not end in a bare traceback
        # Imported here, not above: settings pulls in pydantic, and `--version` stays instant.
        from lamefair_desktop.home.settings import SettingsError

        if isinstance(exc, SettingsError):  # a broken settings file: stop, never guess
            print(f"error: {exc}; fix or delete the file", file=sys.stderr)
            return EXIT_USAGE
        return _report_crash(exc)


def _report_crash(exc: Exception) -> int:
    import logging

    from lamefair_desktop.cli.console_log import FILE_ONLY
    from lamefair_desktop.home.log_files import log_to_file

    log_file = log_to_file("cli.log")  # already there after configure(); --self-test has none
    logging.getLogger("lamefair").error("unexpected error", exc_info=exc, extra=FILE_ONLY)
    print(
        f"lamefair hit an unexpected error: {exc.__class__.__name__}: {exc}\n"
        f"The details are in {log_file}; please attach that file to a bug report.",
        file=sys.stderr,
    )
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
