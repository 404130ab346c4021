"""`lamefair convert`, `lamefair validate`, `lamefair inspect`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lamefair_desktop.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def register_convert(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT.tif")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("-o", "--output", type=Path, help="output file (one input only)")
    target.add_argument("--out-dir", type=Path, help="folder for the .nxs files")
    parser.add_argument(
        "--pair",
        help="instrument pair (mapping id): adds the site's microscope; default: the file's "
        "flavour mapping, which writes only what the file states",
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="IANA time zone of the instrument's clock, e.g. Europe/Rome; default: the pair's, "
        "else this computer's",
    )
    parser.add_argument("--meta", type=Path, help="catalog context JSON (sample, experiment, ...)")
    parser.add_argument(
        "--validate", action="store_true", help="also run the FAIRmat validator (pynx)"
    )
    parser.set_defaults(handler=run_convert)


def run_convert(args: argparse.Namespace) -> int:
    from lamefair_desktop.nexus.context import load_context
    from lamefair_desktop.nexus.errors import NexusEngineError
    from lamefair_desktop.nexus.local_time import ZoneChoice
    from lamefair_desktop.nexus.validate import pynx_validate
    from lamefair_desktop.nexus.writer import convert

    if args.output and len(args.inputs) > 1:
        print("-o/--output takes one input; use --out-dir for several.", file=sys.stderr)
        return EXIT_USAGE
    try:
        context = load_context(args.meta) if args.meta else None
    except NexusEngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        zone = ZoneChoice(args.timezone, "given with --timezone") if args.timezone else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    status = EXIT_OK
    for source in args.inputs:
        output = args.output or (args.out_dir or source.parent) / (source.stem + ".nxs")
        try:
            result = convert(source, output, pair=args.pair, zone=zone, context=context)
        except NexusEngineError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = EXIT_FAILED
            continue
        print(f"{source} -> {result.output} ({result.pair}, {result.frames} frame(s))")
        for warning in result.warnings:
            print(f"warning: {source.name}: {warning}", file=sys.stderr)
        for item in result.lacking:
            print(f"  lacking: {item}")
        if args.validate:
            try:
                report = pynx_validate(result.output)
            except NexusEngineError as exc:
                print(f"  validator: {exc}", file=sys.stderr)
                continue
            print(f"  FAIRmat validator: {'valid' if report.valid else 'NOT valid'}")
    return status


def register_validate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE.nxs")
    parser.add_argument(
        "--pynxtools", action="store_true", help="also run the FAIRmat validator (strict)"
    )
    parser.set_defaults(handler=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    from lamefair_desktop.nexus.errors import NexusEngineError
    from lamefair_desktop.nexus.validate import pynx_validate, structural_problems

    try:
        problems = structural_problems(args.file)
    except NexusEngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for problem in problems:
        print(f"missing: {problem}")
    status = EXIT_FAILED if problems else EXIT_OK
    if not problems:
        print(f"{args.file}: the NXem structure is complete (lamefair's check).")
    if args.pynxtools:
        try:
            report = pynx_validate(args.file)
        except NexusEngineError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print(report.report)
        status = status if report.valid else EXIT_FAILED
    return status


def register_inspect(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run_inspect)


def run_inspect(args: argparse.Namespace) -> int:
    from lamefair_desktop.nexus.errors import NexusEngineError
    from lamefair_desktop.nexus.preview import open_preview

    try:
        with open_preview(args.file) as preview:
            info, metadata = preview.info, preview.metadata()
    except NexusEngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"info": info.__dict__, "metadata": metadata}, indent=2, default=str))
        return EXIT_OK
    print(
        f"{info.title}: {info.frames} frame(s) of {info.frame_shape[0]}x{info.frame_shape[1]} "
        f"{info.dtype}, pixel {info.pixel_x} {info.unit}"
    )
    if info.kind == "tiff":
        for key, value in metadata.items():
            print(f"{key} = {value}")
    else:
        _print_tree(metadata, "")
    return EXIT_OK


def _print_tree(tree: dict, indent: str) -> None:
    for key, value in tree.items():
        if isinstance(value, dict) and "value" not in value:
            cls = value.get("@NX_class", "")
            print(f"{indent}{key}/ {cls}")
            _print_tree({k: v for k, v in value.items() if not k.startswith("@")}, indent + "  ")
        elif isinstance(value, dict):
            attrs = {k: v for k, v in value.items() if k.startswith("@")}
            print(f"{indent}{key} = {value['value']!r} {attrs if attrs else ''}".rstrip())
