"""Is this file NXem? Our fast structural check, and the FAIRmat validator (the authority).

`pynx validate` (pynxtools) decides: its last line says valid or NOT valid, and its exit code is 0
either way, so the text is parsed. Our own check is a quick pre-flight with readable messages.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import h5py

from lamefair_desktop.nexus.errors import NexusEngineError

REQUIRED_FIELDS = (
    "definition",
    "start_time",
    "sample/is_simulation",
    "sample/preparation_date",
    "sample/atom_types",
)


@dataclass(frozen=True)
class ValidationReport:
    valid: bool
    report: str
    validator: str  # "pynxtools" or "lamefair"


def _entries(handle: h5py.File) -> list[h5py.Group]:
    return [
        group
        for group in handle.values()
        if isinstance(group, h5py.Group) and _nx_class(group) == "NXentry"
    ]


def _nx_class(node: h5py.HLObject) -> str:
    value = node.attrs.get("NX_class", b"")
    return value.decode() if isinstance(value, bytes) else str(value)


def structural_problems(path: Path) -> list[str]:
    """What NXem requires and the file lacks, in words (empty list: nothing found)."""
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise NexusEngineError(f"{path.name} is not an HDF5/NeXus file ({exc}).") from exc
    problems: list[str] = []
    with handle:
        entries = _entries(handle)
        if not entries:
            return ["no NXentry group"]
        for entry in entries:
            name = entry.name.lstrip("/")
            definition = entry.get("definition")
            if definition is None or _text(definition[()]) != "NXem":
                problems.append(f"{name}/definition is not 'NXem'")
            for field in REQUIRED_FIELDS[1:]:
                if field not in entry:
                    problems.append(f"{name}/{field} is missing")
            for data in _nxdata_groups(entry):
                problems += _nxdata_problems(data)
    return problems


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _nxdata_groups(group: h5py.Group) -> list[h5py.Group]:
    found: list[h5py.Group] = []
    group.visititems(
        lambda _, node: (
            found.append(node)
            if isinstance(node, h5py.Group) and _nx_class(node) == "NXdata"
            else None
        )
    )
    return found


def _nxdata_problems(data: h5py.Group) -> list[str]:
    problems = []
    signal = _text(data.attrs.get("signal", ""))
    if signal not in data:
        return [f"{data.name}: signal {signal!r} is missing"]
    shape = data[signal].shape
    if "long_name" not in data[signal].attrs:
        problems.append(f"{data.name}/{signal} has no long_name")
    axes = [_text(a) for a in data.attrs.get("axes", [])]
    for position, axis in enumerate(axes):
        if axis not in data:
            problems.append(f"{data.name}: axis {axis!r} is missing")
            continue
        if len(data[axis]) != shape[position]:
            problems.append(
                f"{data.name}/{axis} has {len(data[axis])} values for a dimension of "
                f"{shape[position]}"
            )
        if "long_name" not in data[axis].attrs:
            problems.append(f"{data.name}/{axis} has no long_name")
    return problems


def pynx_executable() -> str | None:
    beside = Path(sys.executable).parent / "pynx"
    if beside.is_file():
        return str(beside)
    return shutil.which("pynx")


def pynx_validate(path: Path, timeout: float = 300) -> ValidationReport:
    """Run the FAIRmat validator in strict mode; NexusEngineError if it is not installed."""
    executable = pynx_executable()
    if executable is None:
        raise NexusEngineError(
            "The FAIRmat validator (pynx, from pynxtools) is not installed; "
            "install it with `pip install pynxtools`."
        )
    result = subprocess.run(
        [executable, "validate", str(path)], capture_output=True, text=True, timeout=timeout
    )
    report = (result.stdout + result.stderr).strip()
    verdicts = [line for line in report.splitlines() if "application definition" in line]
    last = verdicts[-1] if verdicts else ""
    valid = " is valid according to the `NXem` application definition" in last
    return ValidationReport(valid=valid, report=report, validator="pynxtools")
