"""`lamefair convert`, `lamefair validate`, `lamefair inspect`.

Inputs may be files, folders (their supported files, sub-folders included) and glob patterns,
which are expanded here because Windows shells do not. Exit codes (lamefair_desktop/cli/main.py):
0 all converted and valid; 1 a file could not be converted or read; 2 usage (bad arguments, no
input found, two inputs that would write the same output: nothing is converted then); 5 a file is
NOT valid NXem; 6 the FAIRmat validator was asked for but is not installed, so only the structural
check ran. When several apply, the first of 1, 5, 6 in that order wins.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lamefair_desktop.cli.console_log import working_on
from lamefair_desktop.cli.exit_codes import (
    EXIT_FAILED,
    EXIT_NO_VALIDATOR,
    EXIT_NOT_VALID,
    EXIT_OK,
    EXIT_USAGE,
)
from lamefair_desktop.cli.input_paths import (
    NEXUS_SUFFIXES,
    InputError,
    InputFile,
    expand,
)
from lamefair_desktop.nexus.formats import CONVERTIBLE_SUFFIXES

_SEVERITY = (EXIT_USAGE, EXIT_FAILED, EXIT_NOT_VALID, EXIT_NO_VALIDATOR, EXIT_OK)


def _worst(*codes: int) -> int:
    return min(codes, key=_SEVERITY.index)


def register_convert(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="TIFF, DM3/DM4 or Velox EMD files, folders or patterns (*.tif)",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("-o", "--output", type=Path, help="output file (one input only)")
    target.add_argument(
        "--out-dir", type=Path, help="folder for the .nxs files (a folder input keeps its layout)"
    )
    parser.add_argument(
        "--pair",
        help="instrument pair (mapping id): adds the site's microscope; default: this "
        "computer's (settings), else the file's flavour mapping, which writes only what the "
        "file states",
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="IANA time zone of the instrument's clock, e.g. Europe/Rome; default: the pair's, "
        "else this computer's (settings, then system)",
    )
    parser.add_argument("--meta", type=Path, help="catalog context JSON (sample, experiment, ...)")
    parser.add_argument(
        "--validate",
        action="store_true",
        help="judge each file with the FAIRmat validator (strict); exit 5 if one is NOT valid, "
        "6 if the validator is not installed",
    )
    parser.set_defaults(handler=run_convert)


def _outputs(args: argparse.Namespace, inputs: list[InputFile]) -> dict[Path, Path] | str:
    """Output of each input, or why they cannot all be written (two inputs, one output)."""
    outputs: dict[Path, Path] = {}
    written_by: dict[Path, Path] = {}
    for item in inputs:
        if args.output:
            output = args.output
        elif args.out_dir:
            output = args.out_dir / item.relative.with_suffix(".nxs")
        else:
            output = item.path.with_suffix(".nxs")
        key = Path(str(output.resolve()).casefold())  # img.nxs and IMG.nxs clash on Windows/macOS
        if key in written_by:
            return (
                f"{written_by[key]} and {item.path} would both be written to {output}; "
                "rename one, convert them separately or give their folders instead."
            )
        written_by[key] = item.path
        outputs[item.path] = output
    return outputs


def run_convert(args: argparse.Namespace) -> int:
    from lamefair_desktop.home.settings import Settings
    from lamefair_desktop.nexus.context import load_context
    from lamefair_desktop.nexus.errors import NexusEngineError
    from lamefair_desktop.nexus.local_time import ZoneChoice
    from lamefair_desktop.nexus.mapping import PairOrigin, default_registry
    from lamefair_desktop.transfer.derived import default_zone

    try:
        inputs = expand(args.inputs, CONVERTIBLE_SUFFIXES)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.output and len(inputs) > 1:
        print("-o/--output takes one input; use --out-dir for several.", file=sys.stderr)
        return EXIT_USAGE
    outputs = _outputs(args, inputs)
    if isinstance(outputs, str):
        print(f"error: {outputs} Nothing was converted.", file=sys.stderr)
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
    # This PC's instrument pair and clock zone (settings) when none is given: what the window
    # and watch folders assume for this microscope, the command assumes too.
    settings = Settings.load()
    origin, computer_pair = PairOrigin.CHOSEN, settings.default_pair
    if args.pair is None and computer_pair:
        try:
            default_registry().get(computer_pair)
        except NexusEngineError as exc:  # named as the setting it is, not as a --pair typo
            print(f"error: {Settings.path()}: default_pair: {exc}", file=sys.stderr)
            return EXIT_USAGE
        args.pair, origin = computer_pair, PairOrigin.COMPUTER
    zone = zone or default_zone(args.pair, settings.default_timezone)
    status = EXIT_OK
    judge = _Judge() if args.validate else None
    for item in inputs:
        with working_on(item.path):  # what tifffile or h5py warn about names this file
            written = _convert_one(item, outputs[item.path], args, (origin, zone), context)
            if written is None:
                status = _worst(status, EXIT_FAILED)
            elif judge is not None:
                status = _worst(status, judge(written, indent="  "))
    return status


def _convert_one(item: InputFile, output: Path, args, origin_zone, context) -> Path | None:
    """Convert one file and print what came of it; the file written, None if it failed."""
    from lamefair_desktop.nexus.errors import NexusEngineError
    from lamefair_desktop.nexus.writer import convert

    try:
        origin, zone = origin_zone
        result = convert(
            item.path, output, pair=args.pair, pair_origin=origin, zone=zone, context=context
        )
    except NexusEngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    print(f"{item.path} -> {result.output} ({result.pair}, {result.frames} frame(s))")
    for warning in result.warnings:
        print(f"warning: {item.path.name}: {warning}", file=sys.stderr)
    for lacking in result.lacking:
        print(f"  lacking: {lacking}")
    return result.output


class _Judge:
    """The FAIRmat validator for each file while it is there; once it is found missing, the
    structural check alone, said once, and exit 6 at worst."""

    def __init__(self) -> None:
        self.missing = False

    def __call__(self, path: Path, indent: str = "") -> int:
        from lamefair_desktop.nexus.errors import NexusEngineError
        from lamefair_desktop.nexus.validate import (
            ValidatorMissing,
            fairmat_validate,
            structural_report,
        )

        report = None
        if not self.missing:
            try:
                report = fairmat_validate(path)
            except ValidatorMissing as exc:
                self.missing = True
                print(f"warning: {exc}", file=sys.stderr)
            except NexusEngineError as exc:
                print(f"{indent}error: {exc}", file=sys.stderr)
                return EXIT_FAILED
        if report is None:
            report = structural_report(path)
        verdict = "valid NXem" if report.valid else "NOT valid NXem"
        print(f"{indent}{verdict} ({report.checked_by})")
        if not report.valid:
            for line in report.report.splitlines()[1:]:
                print(f"{indent}  {line}")
            return EXIT_NOT_VALID
        return EXIT_NO_VALIDATOR if self.missing else EXIT_OK


def register_validate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE.nxs")
    parser.add_argument(
        "--fairmat",
        "--pynxtools",
        dest="fairmat",
        action="store_true",
        help="also run the FAIRmat validator (strict); exit 6 if it is not installed",
    )
    parser.set_defaults(handler=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    with working_on(args.file):
        return _validate(args)


def _validate(args: argparse.Namespace) -> int:
    from lamefair_desktop.nexus.errors import NexusEngineError
    from lamefair_desktop.nexus.validate import structural_problems

    try:
        problems = structural_problems(args.file)
    except NexusEngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for problem in problems:
        print(f"missing: {problem}")
    status = EXIT_NOT_VALID if problems else EXIT_OK
    if not problems:
        print(f"{args.file}: the NXem structure is complete (lamefair's check).")
    if args.fairmat:
        status = _worst(status, _Judge()(args.file))
    return status


def register_inspect(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="image (TIFF, DM, EMD) or NeXus files, folders or patterns",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run_inspect)


def run_inspect(args: argparse.Namespace) -> int:
    try:
        inputs = expand(args.files, CONVERTIBLE_SUFFIXES + NEXUS_SUFFIXES)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    status = EXIT_OK
    several = len(inputs) > 1
    for item in inputs:
        if several and not args.json:
            print(f"== {item.path}")
        with working_on(item.path):
            status = _worst(status, _inspect_one(item.path, args.json))
    return status


def _inspect_one(path: Path, as_json: bool) -> int:
    from lamefair_desktop.nexus.display import describe_image
    from lamefair_desktop.nexus.errors import NexusEngineError
    from lamefair_desktop.nexus.preview import open_preview

    try:
        with open_preview(path) as preview:
            info, metadata = preview.info, preview.metadata()
    except NexusEngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if as_json:
        document = {"file": str(path), "info": info.__dict__, "metadata": metadata}
        print(json.dumps(document, indent=2, default=str))
        return EXIT_OK
    print(describe_image(info))
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
