"""`lamefair search`: find derived files by what the microscope did (GET /api/search), as a
table or `--json`. Flags mirror the API's parameters; numbers in SI units, ranges `low..high`
with either end open (`--voltage 180e3..210e3`, `--pixel-size ..2e-9`).
"""

from __future__ import annotations

import argparse
import json
import sys

from lamefair_desktop.catalog.search import COLUMNS, RANGES, SearchFilters, facet_label, row_of
from lamefair_desktop.cli.connected import run_connected
from lamefair_desktop.cli.exit_codes import EXIT_OK, EXIT_USAGE


def register_search(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("words", nargs="*", help="words in file paths, descriptions, names")
    for name, label in RANGES.items():
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, dest=name, metavar="LOW..HIGH", help=label)
    for name in ("instrument", "detector", "operator", "element", "proposal"):
        parser.add_argument(
            f"--{name}", action="append", default=[], help=f"{name} (repeatable: any of them)"
        )
    parser.add_argument("--from", dest="date_from", default="", metavar="DATE")
    parser.add_argument("--to", dest="date_to", default="", metavar="DATE")
    verdict = parser.add_mutually_exclusive_group()
    verdict.add_argument("--valid", dest="valid", action="store_const", const=True)
    verdict.add_argument("--invalid", dest="valid", action="store_const", const=False)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--facets", action="store_true", help="print the facet counts too")
    parser.add_argument("--json", action="store_true", help="the API's answer as JSON")
    parser.set_defaults(handler=run_search)


def filters_of(args: argparse.Namespace) -> SearchFilters:
    return SearchFilters(
        text=" ".join(args.words),
        ranges={n: getattr(args, n) for n in RANGES if getattr(args, n)},
        instruments=tuple(args.instrument),
        detectors=tuple(args.detector),
        operators=tuple(args.operator),
        elements=tuple(args.element),
        proposals=tuple(args.proposal),
        date_from=args.date_from,
        date_to=args.date_to,
        valid=args.valid,
        offset=args.offset,
        limit=args.limit,
    )


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def run_search(args: argparse.Namespace) -> int:
    from lamefair_desktop.catalog.client import CatalogError

    filters = filters_of(args)

    def action(connection) -> int:
        try:
            page = connection.client.search(filters.params())
        except CatalogError as exc:
            if exc.status != 422:
                raise
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if args.json:
            print(json.dumps(page, indent=2))
            return EXIT_OK
        if page["hits"]:
            print(_table([COLUMNS, *(row_of(hit) for hit in page["hits"])]))
        shown = (
            f"{page['offset'] + 1}-{page['offset'] + len(page['hits'])}" if page["hits"] else "0"
        )
        print(f"({shown} of {page['total']} found)")
        if args.facets:
            for name, counts in page["facets"].items():
                if counts:
                    text = ", ".join(
                        f"{facet_label(name, c['value'])} {c['count']}" for c in counts
                    )
                    print(f"{name}: {text}")
        return EXIT_OK

    return run_connected(action)
