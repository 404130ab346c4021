"""`lamefair login [--device]` and `lamefair logout`."""

from __future__ import annotations

import argparse
import sys
import webbrowser

from lamefair_desktop.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def register_login(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", action="store_true", help="sign in on another device")
    parser.set_defaults(handler=run_login)


def run_login(args: argparse.Namespace) -> int:
    from lamefair_desktop.catalog.auth import AuthError
    from lamefair_desktop.catalog.connection import oidc_session, server_url

    url = server_url()
    if not url:
        print(
            "The local catalog needs no sign-in. Set a server first (settings or LAMEFAIR_SERVER).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        session = oidc_session(url)
        if args.device:
            tokens = session.login_device(
                lambda link, code: print(f"Open {link} and enter the code {code}", flush=True)
            )
        else:
            print("Opening your browser to sign in...", flush=True)
            tokens = session.login(webbrowser.open)
    except AuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Signed in to {url} as {tokens.username or 'you'}.")
    if not session.store.persistent:
        print(f"note: {session.store.problem}.", file=sys.stderr)
    return EXIT_OK


def register_logout(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=run_logout)


def run_logout(args: argparse.Namespace) -> int:
    from lamefair_desktop.catalog.auth import AuthError
    from lamefair_desktop.catalog.connection import oidc_session, server_url

    url = server_url()
    if not url:
        print("The local catalog has no sign-in to end.")
        return EXIT_OK
    try:
        oidc_session(url).logout()
    except AuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Signed out of {url}.")
    return EXIT_OK
