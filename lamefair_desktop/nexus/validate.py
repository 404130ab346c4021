"""Is this file NXem? Our fast structural check, and the FAIRmat validator (the authority).

The FAIRmat validator is pynxtools' own function, run in a fresh spawned process per file by
`lamefair_catalog.nxem_judge` (shared with the catalog, which judges every stored derived file
again where the packaged desktop cannot: see that module for the hazards).

Our structural check is a quick pre-flight with readable messages, and the only check where
pynxtools is not installed: every verdict says which of the two spoke (`ValidationReport.validator`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import h5py

from lamefair_catalog.nxem_judge import JudgeTimeout, judge
from lamefair_desktop.nexus.errors import NexusEngineError

REQUIRED_FIELDS = (
    "definition",
    "start_time",
    "sample/is_simulation",
    "sample/preparation_date",
    "sample/atom_types",
)


# Stored in the local database (derived_jobs.validator): keep the values, change the labels.
FAIRMAT = "pynxtools"
STRUCTURAL = "lamefair"
VALIDATOR_LABELS = {FAIRMAT: "FAIRmat validator", STRUCTURAL: "structural check only"}


class ValidatorMissing(NexusEngineError):
    """The FAIRmat validator (pynxtools) cannot be imported here: only the structural check ran."""


@dataclass(frozen=True)
class ValidationReport:
    valid: bool
    report: str
    validator: str  # FAIRMAT or STRUCTURAL

    @property
    def checked_by(self) -> str:
        return VALIDATOR_LABELS.get(self.validator, self.validator)


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


def structural_report(path: Path) -> ValidationReport:
    problems = structural_problems(path)
    lines = [f"missing: {p}" for p in problems] or ["The NXem structure is complete."]
    header = "Checked by lamefair's structural check (the FAIRmat validator did not run)."
    return ValidationReport(
        valid=not problems, report="\n".join([header, *lines]), validator=STRUCTURAL
    )


def fairmat_installed() -> bool:
    """Whether pynxtools is importable in principle (cheap; a broken install still shows up as
    ValidatorMissing from `fairmat_validate`)."""
    return importlib.util.find_spec("pynxtools") is not None


def fairmat_validate(path: Path, timeout: float = 300) -> ValidationReport:
    """Judge `path` with the FAIRmat validator in strict mode (undocumented concepts are errors).

    ValidatorMissing where pynxtools cannot be imported; NexusEngineError if the file cannot be
    read or the validator does not answer within `timeout` seconds.
    """
    path = Path(path)
    if not path.is_file():
        raise NexusEngineError(f"{path} does not exist.")
    try:
        outcome = judge(path, timeout)
    except JudgeTimeout as exc:
        raise NexusEngineError(str(exc)) from None
    if outcome.missing:
        raise ValidatorMissing(
            f"The FAIRmat validator (pynxtools) is not installed here ({outcome.missing}); "
            "only lamefair's structural check can run. Install it with "
            "`pip install 'lamefair[fairmat]'`."
        )
    if outcome.error:
        raise NexusEngineError(f"The FAIRmat validator could not read {path.name}: {outcome.error}")
    verdict = "valid" if outcome.valid else "NOT valid"
    header = (
        f"Checked by the FAIRmat validator (pynxtools {outcome.version}, strict mode): "
        f"{verdict} NXem."
    )
    return ValidationReport(
        valid=outcome.valid,
        report="\n".join([header, *outcome.problems]),
        validator=FAIRMAT,
    )
