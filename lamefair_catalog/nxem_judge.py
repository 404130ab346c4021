"""The FAIRmat validator's verdict on one NeXus file, judged in a fresh child process.

Both the desktop (`lamefair_desktop/nexus/validate.py`) and the catalog (`domain/verdicts.py`)
judge with this one runner, so the hazards below are handled in one place. It imports only the standard
library at module level (h5py and pynxtools only in the child), which is why the desktop may import
it besides `shared.py` (tests/test_layers.py allows exactly these two modules).

- The verdict is pynxtools' own function (`validate_hdf_group_against`, what `pynx validate` calls
  per entry) and its boolean: `pynx validate` exits 0 whether the file is valid or not and only
  says so in English, which we must not parse.
- The function keeps module-level state (a collector of problems that is never reset), so each
  file is judged in a fresh *spawned* process (spawn, not fork: the callers run threads); the
  problems it logs are captured there and come back as `problems`.
- A child that does not answer within the timeout is killed, not waited for.
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path


class JudgeTimeout(RuntimeError):
    """The validator did not answer in time (its child was killed)."""


@dataclass(frozen=True)
class Judgement:
    """What the child found. `missing` or `error` set means there is no verdict."""

    valid: bool = False
    problems: tuple[str, ...] = ()
    version: str = ""  # pynxtools' version, e.g. "0.16.0"
    missing: str = ""  # why pynxtools could not be imported
    error: str = ""  # why the file could not be read

    @property
    def validator(self) -> str:
        return f"pynxtools {self.version}" if self.version else "pynxtools"


def judge(path: Path | str, timeout: float = 300) -> Judgement:
    """Every NXentry of `path` against its own definition, strict mode (undocumented concepts are
    errors). JudgeTimeout if no answer within `timeout` seconds."""
    context = multiprocessing.get_context("spawn")
    # One process per file (max_tasks_per_child=1): the problem collector would carry over.
    pool = ProcessPoolExecutor(max_workers=1, mp_context=context, max_tasks_per_child=1)
    try:
        return pool.submit(_judge_in_child, str(path)).result(timeout=timeout)
    except BrokenProcessPool as exc:  # the child died (out of memory, killed): this file's error
        raise JudgeTimeout(
            f"The FAIRmat validator stopped while judging {Path(path).name} ({exc})."
        ) from None
    except FutureTimeout:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        raise JudgeTimeout(
            f"The FAIRmat validator did not finish {Path(path).name} within {timeout:.0f} s."
        ) from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname}: {record.getMessage()}")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _judge_in_child(path: str) -> Judgement:
    """Runs in the spawned child."""
    try:
        from importlib.metadata import version

        import h5py
        from pynxtools.dataconverter.validation import validate_hdf_group_against
    except ImportError as exc:
        return Judgement(missing=str(exc) or exc.__class__.__name__)
    capture = _Capture()
    # The problems go to the "pynxtools" logger, which prints them itself and does not propagate;
    # a few go to module loggers that do. Take them all here instead of on the terminal.
    own = logging.getLogger("pynxtools")
    own.handlers = [capture]
    root = logging.getLogger()
    root.addHandler(capture)
    root.setLevel(logging.INFO)
    try:
        with h5py.File(path, "r") as handle:
            entries = [
                (group, _text(group["definition"][()]))
                for group in handle.values()
                if isinstance(group, h5py.Group)
                and _text(group.attrs.get("NX_class", b"")) == "NXentry"
                and "definition" in group
            ]
            if not entries:
                return Judgement(
                    problems=("no NXentry with a definition",), version=version("pynxtools")
                )
            # Every entry is judged (its problems belong in the report), not only up to the first.
            verdicts = [
                validate_hdf_group_against(definition, group, path, ignore_undocumented=False)
                for group, definition in entries
            ]
            valid = all(verdicts)
    except Exception as exc:  # a validator bug on one file must come back as that file's error
        return Judgement(error=f"{type(exc).__name__}: {exc}")
    finally:
        root.removeHandler(capture)
    return Judgement(valid=valid, problems=tuple(capture.lines), version=version("pynxtools"))
