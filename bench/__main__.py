"""Run the benchmarks: `python -m bench [NAME ...]` (default: all). Prints a table per benchmark."""

from __future__ import annotations

import argparse
import importlib
import sys
import time

BENCHMARKS = {
    "catalog": "bench.catalog_bench",
    "nexus": "bench.nexus_bench",
    "transfer": "bench.transfer_bench",
    "download": "bench.download_bench",
    "ui": "bench.ui_bench",
    "package": "bench.package_bench",
    "facility": "bench.facility_bench",
    "search": "bench.search_bench",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], help="benchmarks to run")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    for name in args.names or list(BENCHMARKS):
        module = importlib.import_module(BENCHMARKS[name])
        print(f"\n== {name}: {module.__doc__.strip().splitlines()[0]}", flush=True)
        started = time.perf_counter()
        module.run(quick=args.quick)
        print(f"   ({name} took {time.perf_counter() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
