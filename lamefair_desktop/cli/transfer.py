"""`lamefair ls`, `upload`, `download`, `queue`, `sync`: headless transfers for scripted ingest.

Exit codes: 0 done; 1 something failed (listed); 2 usage; 3 the catalog or storage is unreachable
(queued work is kept and resumes with `lamefair queue --resume`); 4 sign in again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lamefair_desktop.cli.connected import local_db, run_connected
from lamefair_desktop.cli.exit_codes import (
    EXIT_FAILED,
    EXIT_OFFLINE,
    EXIT_OK,
    EXIT_SIGN_IN,
    EXIT_USAGE,
)
from lamefair_desktop.cli.progress import TransferProgress
from lamefair_desktop.transfer.states import ACTIVE_STATES, ConversionState, UploadState

UPLOAD_PATIENCE = 300.0  # seconds `lamefair upload` waits for a lost network before exiting 3


# --- ls ---------------------------------------------------------------------------------------


def register_ls(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default="", help="project/proposal/sample/experiment")
    parser.set_defaults(handler=run_ls)


LEVELS = ("project", "proposal", "sample", "experiment", "measurement")


def run_ls(args: argparse.Namespace) -> int:
    from lamefair_desktop.catalog.client import CatalogUnreachable
    from lamefair_desktop.catalog.sync import Sync

    def action(connection) -> int:
        sync = Sync(connection.client, local_db())
        try:
            sync.pull()
        except CatalogUnreachable:
            print("(offline: showing the cached catalog)", file=sys.stderr)
        parts = [p for p in args.path.strip("/").split("/") if p]
        parent = None
        for level, part in zip(LEVELS, parts, strict=False):
            match = [
                n
                for n in sync.cache.children(level, parent)
                if part in (n.id, n.name, n.data.get("slug"), n.data.get("number_slug"))
            ]
            if not match:
                print(
                    f"error: no {level} {part!r} here; `lamefair ls` shows what there is.",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            parent = match[0].id
        depth = len(parts)
        if depth >= len(LEVELS):
            print("error: the path is deeper than measurements.", file=sys.stderr)
            return EXIT_USAGE
        kind = LEVELS[depth]
        for node in sync.cache.children(kind, parent):
            pending = " (not sent yet)" if node.pending else ""
            print(f"{node.name}\t{kind}\t{node.id}{pending}")
            if kind == "measurement":
                for file in sync.cache.children("file", node.id):
                    print(f"  {file.name}\t{file.data.get('state')}\t{file.data.get('size')} B")
        return EXIT_OK

    return run_connected(action)


# --- upload -----------------------------------------------------------------------------------


def register_upload(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", type=Path, metavar="FILE_OR_DIR")
    parser.add_argument("--experiment", required=True, help="experiment id")
    parser.add_argument("--pair", default="generic", help="instrument pair (mapping id)")
    parser.add_argument("--operator", default="", help="operator name (default: you)")
    parser.add_argument("--description", default="")
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="with --convert: IANA time zone of the instrument's clock, e.g. Europe/Rome; "
        "default: the pair's, else this computer's (settings, then system)",
    )
    parser.add_argument(
        "--convert",
        action="store_true",
        help="after upload, convert each TIFF to NXem and store it in the mirror bucket",
    )
    parser.set_defaults(handler=run_upload)


def run_upload(args: argparse.Namespace) -> int:
    from lamefair_desktop.home.settings import Settings
    from lamefair_desktop.nexus.local_time import ZoneChoice
    from lamefair_desktop.transfer.derived import DerivedQueue
    from lamefair_desktop.transfer.intake import Intake, Measurement
    from lamefair_desktop.transfer.queue import UploadQueue
    from lamefair_desktop.transfer.upload import Uploader, UploadSettings

    try:
        zone = ZoneChoice(args.timezone, "given with --timezone") if args.timezone else None
    except ValueError as exc:
        print(f"error: --timezone: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings = Settings.load()
    printer = TransferProgress()

    def action(connection) -> int:
        uploader = Uploader(
            connection.client,
            UploadQueue(local_db()),
            UploadSettings(
                part_concurrency=settings.part_concurrency,
                file_concurrency=settings.file_concurrency,
            ),
            progress=lambda p: printer.progress(p.path, p.bytes_done, p.size, p.state, p.error),
        )
        try:
            taken = Intake(uploader, DerivedQueue(uploader.queue.sessions)).take(
                Measurement(
                    args.experiment,
                    args.pair,
                    args.operator,
                    args.description,
                    args.convert,
                    zone,
                ),
                args.inputs,
            )
            measurement = taken.measurement
            print(f"measurement {measurement['id']}: {len(measurement['files'])} file(s) queued")
            if taken.conversion_problem:
                print(
                    f"warning: the conversion to NXem was not queued: {taken.conversion_problem}",
                    file=sys.stderr,
                )
            # A script should not hang on a dead network: after five minutes of waiting the
            # files stay queued and `lamefair queue --resume` finishes them. Files of ours that
            # another process on this data folder took are waited for, not sent twice.
            mine = {f["id"] for f in measurement["files"]}
            uploader.run(patience=UPLOAD_PATIENCE, wait_for=mine)
            # States of this measurement's files only: an old failure elsewhere is not ours.
            counts = uploader.queue.counts(measurement_id=measurement["id"])
        finally:
            uploader.close()
        status = _summary(counts)
        if args.convert:
            status = max(
                status, _convert(connection.client, uploader.queue, measurement["id"], settings)
            )
        return status

    with printer:
        return run_connected(action)


def _convert(client, uploads, measurement_id: str, settings) -> int:
    """Convert what was stored to NXem, store it in the mirror bucket, print each verdict."""
    from lamefair_desktop.transfer.derived import DerivedQueue
    from lamefair_desktop.transfer.deriver import Deriver

    derived = DerivedQueue(uploads.sessions)
    deriver = Deriver(client, uploads, derived, settings=settings)  # loaded once by the command
    try:
        deriver.run()
    finally:
        deriver.close()
    status = EXIT_OK
    for job in derived.items(measurement_id=measurement_id):
        print(f"NXem: {job.rel_path}: {job.verdict} {job.error}".rstrip())
        if job.state == ConversionState.FAILED:
            status = EXIT_FAILED
        elif job.state == ConversionState.OFFLINE:
            status = max(status, EXIT_OFFLINE)
    return status


def _summary(counts: dict[str, int]) -> int:
    print(", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "nothing queued")
    if counts.get(UploadState.FAILED):
        return EXIT_FAILED
    if counts.get(UploadState.SIGNIN):
        print(
            "Some uploads wait for you to sign in: run `lamefair login`, then "
            "`lamefair queue --resume`.",
            file=sys.stderr,
        )
        return EXIT_SIGN_IN
    if any(counts.get(state) for state in ACTIVE_STATES):
        return EXIT_OFFLINE
    return EXIT_OK


# --- queue ------------------------------------------------------------------------------------


def register_queue(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resume", action="store_true", help="resume every unfinished upload and wait"
    )
    parser.set_defaults(handler=run_queue)


def run_queue(args: argparse.Namespace) -> int:
    from lamefair_desktop.transfer.claims import Claims
    from lamefair_desktop.transfer.derived import DerivedQueue
    from lamefair_desktop.transfer.queue import UploadQueue
    from lamefair_desktop.transfer.reconcile import reconcile
    from lamefair_desktop.transfer.states import ACTIVE_STATES
    from lamefair_desktop.transfer.upload import Uploader

    queue = UploadQueue(local_db())
    if not args.resume:
        items = queue.items()
        busy = Claims(queue.sessions).holders(i.file_id for i in items if i.state in ACTIVE_STATES)
        for item in items:
            error = f"\t{item.error}" if item.error else ""
            if item.file_id in busy:
                error += f"\t(being uploaded by {busy[item.file_id].describe()})"
            print(f"{item.state}\t{item.size}\t{item.local_path}\t{item.file_id}{error}")
        if not items:
            print("The upload queue is empty.")
        # The catalog's FAIRmat verdicts arrive with `lamefair sync`; until then, this computer's.
        for job in DerivedQueue(queue.sessions).items():
            print(f"NXem: {job.rel_path}: {job.verdict} {job.error}".rstrip())
        return EXIT_OK
    printer = TransferProgress()

    def action(connection) -> int:
        uploader = Uploader(
            connection.client,
            queue,
            progress=lambda p: printer.progress(p.path, p.bytes_done, p.size, p.state, p.error),
        )
        try:
            # The catalog first: what it stored is stored, whatever this queue recorded.
            fixed = reconcile(connection.client, queue, uploader.claims)
            for item in fixed.stored:
                print(f"stored: {item.rel_path} (the catalog has it; the queue said {item.state})")
            for item in fixed.given_up:
                print(f"failed: {item.rel_path} (the catalog was told: {item.error})")
            uploader.resume_after_sign_in()
            # Finishing the queue includes what another process is sending: wait for it.
            unfinished = {i.file_id for i in queue.items(ACTIVE_STATES)}
            return _summary(uploader.run(wait_for=unfinished))
        finally:
            uploader.close()

    with printer:
        return run_connected(action)


# --- download ---------------------------------------------------------------------------------


def register_download(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", metavar="FILE_ID|BUCKET/PREFIX")
    parser.add_argument("-o", "--output", type=Path, required=True, help="destination folder")
    parser.add_argument("--aria2", type=Path, help="write an aria2 input file instead")
    parser.set_defaults(handler=run_download)


def run_download(args: argparse.Namespace) -> int:
    from lamefair_desktop.transfer.aria2_export import export_aria2
    from lamefair_desktop.transfer.download import Downloader

    printer = TransferProgress()
    is_file_id = len(args.what) == 36 and args.what.count("-") == 4

    def action(connection) -> int:
        if args.aria2:
            if is_file_id:
                print("error: --aria2 takes BUCKET/PREFIX.", file=sys.stderr)
                return EXIT_USAGE
            bucket, _, prefix = args.what.partition("/")
            count = export_aria2(connection.client, bucket, prefix, args.aria2)
            print(f"{args.aria2}: {count} object(s); run `aria2c -i {args.aria2}`")
            return EXIT_OK
        downloader = Downloader(
            connection.client,
            progress=lambda p: printer.progress(
                p.relative_path, p.bytes_done, p.size, p.state, p.error
            ),
        )
        try:
            if is_file_id:
                path = downloader.file(args.what, args.output)
                print(f"saved {path}")
            else:
                bucket, _, prefix = args.what.partition("/")
                paths = downloader.prefix(bucket, prefix, args.output)
                print(f"saved {len(paths)} file(s) under {args.output}")
        finally:
            downloader.close()
        return EXIT_OK

    with printer:
        return run_connected(action)


# --- sync -------------------------------------------------------------------------------------


def register_sync(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=run_sync)


def run_sync(args: argparse.Namespace) -> int:
    from lamefair_desktop.catalog.sync import Sync, describe

    def action(connection) -> int:
        sync = Sync(connection.client, local_db())
        sent = sync.push()
        applied = sync.pull()
        print(f"{connection.description}: {applied} change(s) received, {len(sent)} sent")
        conflicts = list(sync.outbox(("conflict",)))
        for item in conflicts:
            print(f"conflict: {describe(item)}")
        return EXIT_FAILED if conflicts else EXIT_OK

    return run_connected(action)
