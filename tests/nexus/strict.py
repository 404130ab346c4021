"""Strict `pynx validate` for several files at the cost of one validator start-up.

The validator keeps its problems in module-level state (a collector); it is cleared before each
file, and each NXem entry goes through `validate_hdf_group_against`, as `pynx validate` does.
The definitions are parsed once for the batch: about 3 s in all instead of about 3 s per file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json, logging, sys
import h5py
from pynxtools.dataconverter.helpers import collector
from pynxtools.dataconverter.validation import validate_hdf_group_against

problems = []
class Keep(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            problems.append(record.getMessage())
logging.getLogger("pynxtools").addHandler(Keep())  # it does not propagate to the root logger
verdicts = {}
for path in sys.argv[1:]:
    collector.clear()
    problems.clear()
    with h5py.File(path, "r") as handle:
        entries = [g for g in handle.values() if g.attrs.get("NX_class") in (b"NXentry", "NXentry")]
        valid = bool(entries)
        for group in entries:
            valid = validate_hdf_group_against("NXem", group, path, False) and valid
    verdicts[path] = (valid, list(problems))
print(json.dumps(verdicts))
"""


def validate_strictly(paths: list[Path]) -> dict[str, tuple[bool, list[str]]]:
    """{file name: (valid, warnings)} as the FAIRmat validator sees each file, strict mode."""
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    verdicts = json.loads(result.stdout.strip().splitlines()[-1])
    return {Path(path).name: (valid, problems) for path, (valid, problems) in verdicts.items()}
