"""lamefair's `convert` against pynxtools-em's `dataconverter`, black-box: both as users run them.

The same TIFF and the same sample/experiment facts (our `--meta` JSON, their `eln_data.yaml`), each
command in a fresh process, several times. Wall time around the child; CPU time (user + sys) and
peak RSS of the child from `os.wait4`. pynxtools-em lives in a venv of its own (`make bench` makes
`.venv/tools-em`; `LAMEFAIR_BENCH_DATACONVERTER` points elsewhere) so its pins never touch ours.
Cases: the corpus files pynxtools-em has a parser for (FEI/TFS Helios and Zeiss SEM tags), plus the
Helios tags on a 4096x4096 uint16 image, where the pixels rather than start-up dominate.
Afterwards both outputs go once through the same strict validator (pynxtools' in that venv).
dataconverter validates as part of every conversion (its default); `lamefair convert` does not.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from bench.report import figure, ratio

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]
CORPUS_CASES = {
    "FEI-Helios-Ebeam-16bits.tif": "FEI Helios 512x471 uint16",
    "test_tiff_Zeiss_SEM_512pix.tif": "Zeiss SEM 512x384 uint8",
}
HELIOS_TAG = 34682  # FEI_HELIOS: the INI-like dump pynxtools-em's TFS parser reads
SAMPLE = {"name": "bench", "preparation_date": "2026-01-01T00:00:00+00:00", "atom_types": "Si"}
START = "2026-01-01T00:00:00+00:00"
CONTEXT = {
    "sample": {**SAMPLE, "atom_types": ["Si"], "is_simulation": False},
    "experiment": {"name": "bench", "start_time": START},
}
# The same facts in the shape pynxtools-em's ELN parser maps (configurations/oasis_eln_cfg.py);
# it recognises the file by its name ending in eln_data.yaml.
ELN = (
    f"entry:\n  experiment_alias: bench\n  start_time: '{START}'\n"
    f"sample:\n  name: bench\n  preparation_date: '{SAMPLE['preparation_date']}'\n"
    "  atom_types: Si\n  is_simulation: false\n"
)
VALIDATE = """
import json, logging, sys
import h5py
from pynxtools.dataconverter.validate_file import _get_def_map
from pynxtools.dataconverter.validation import validate_hdf_group_against

problems = []
class Keep(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            problems.append(record.getMessage())
logging.getLogger("pynxtools").addHandler(Keep())
path = sys.argv[1]
with h5py.File(path, "r") as handle:
    verdicts = [validate_hdf_group_against(nxdl, handle[entry], path)
                for entry, nxdl in _get_def_map(path).items()]
print(json.dumps({"valid": bool(verdicts) and all(verdicts), "problems": problems}))
"""


@dataclass
class Run:
    seconds: float
    cpu: float
    rss: int
    code: int
    log: str


def _timed(command: list[str], env: dict[str, str], log: Path) -> Run:
    """Run `command` to its end; its own CPU time and peak RSS come from wait4."""
    started = time.perf_counter()
    with log.open("wb") as sink:
        child = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Run(
        seconds,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss * 1024,  # KiB on Linux
        child.returncode,
        log.read_text(errors="replace"),
    )


def _dataconverter() -> Path:
    given = os.environ.get("LAMEFAIR_BENCH_DATACONVERTER")
    return Path(given) if given else ROOT / ".venv" / "tools-em" / "bin" / "dataconverter"


def _corpus() -> Path | None:
    given = os.environ.get("LAMEFAIR_CORPUS")
    folder = (Path(given) if given else ROOT.parent / "shared" / "corpus") / "tiff"
    return folder if folder.is_dir() else None


def _big_helios(corpus: Path, target: Path, side: int) -> Path:
    """The corpus Helios file's own FEI_HELIOS tag on a side x side uint16 image."""
    source = corpus / next(iter(CORPUS_CASES))
    with tifffile.TiffFile(source) as tif:
        tag = tif.pages[0].tags[HELIOS_TAG]
        offset, count = tag.valueoffset, tag.count
    with source.open("rb") as handle:
        handle.seek(offset)
        raw = handle.read(count)
    # The header must describe this image: with the corpus file's 512 x 442 (+29 data-bar rows)
    # the rest of a large image would be read as a data bar (and PNG-encoded as one).
    raw = re.sub(rb"ResolutionX=\d+", b"ResolutionX=%d" % side, raw)
    raw = re.sub(rb"ResolutionY=\d+", b"ResolutionY=%d" % side, raw)
    raw = re.sub(rb"DatabarHeight=\d+", b"DatabarHeight=0", raw)
    pixels = np.random.default_rng(0).integers(0, 65535, (side, side), dtype=np.uint16)
    tifffile.imwrite(target, pixels, extratags=[(HELIOS_TAG, "s", len(raw), raw, True)])
    return target


def _last_lines(text: str, count: int = 4) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "(no output)"


def _validate(python: Path, path: Path) -> str:
    """'valid' or 'NOT valid (n problems: first)', by pynxtools' strict validator in its venv."""
    if not path.exists():
        return "no file"
    done = subprocess.run(
        [str(python), "-c", VALIDATE, str(path)], capture_output=True, text=True, env=_clean_env()
    )
    try:
        verdict = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return f"validator failed: {_last_lines(done.stderr, 2)}"
    if verdict["valid"]:
        return "valid"
    problems = verdict["problems"]
    first = problems[0][:100] if problems else "no message"
    return f"NOT valid ({len(problems)} problem(s), first: {first})"


def _median(runs: list[Run], field: str) -> float:
    return statistics.median(getattr(run, field) for run in runs)


def _clean_env() -> dict[str, str]:
    """Our environment minus PYTHONPATH, which points at this checkout, not at their venv."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def _case(
    label: str, source: Path, folder: Path, dataconverter: Path, repeat: int, warm_up: bool
) -> None:
    meta, eln = folder / "context.json", folder / "bench_eln_data.yaml"
    meta.write_text(json.dumps(CONTEXT))
    eln.write_text(ELN)
    ours_out, theirs_out = folder / "ours.nxs", folder / "theirs.nxs"
    ours_env = {**os.environ, "LAMEFAIR_HOME": str(folder / "home")}  # default settings, no pair
    ours_cmd = [sys.executable, "-m", "lamefair_desktop", "convert", str(source)]
    ours_cmd += ["-o", str(ours_out), "--meta", str(meta)]
    theirs_cmd = [str(dataconverter), "--reader", "em", "--nxdl", "NXem"]
    theirs_cmd += [str(source), str(eln), "--output", str(theirs_out)]
    if warm_up:  # the first start of each compiles its bytecode and fills the page cache
        for command, env in ((ours_cmd, ours_env), (theirs_cmd, _clean_env())):
            _timed(command, env, folder / "log.txt")
    ours, theirs = [], []
    for _ in range(repeat):  # interleaved, so a busy moment on the machine hits both
        for out, runs, command, env in (
            (ours_out, ours, ours_cmd, ours_env),
            (theirs_out, theirs, theirs_cmd, _clean_env()),
        ):
            out.unlink(missing_ok=True)
            runs.append(_timed(command, env, folder / "log.txt"))
    failed = False
    for name, runs, out in (("lamefair", ours, ours_out), ("pynxtools-em", theirs, theirs_out)):
        bad = next((run for run in runs if run.code != 0 or not out.exists()), None)
        if bad is not None:
            print(f"   {label}: {name} FAILED (exit {bad.code}): {_last_lines(bad.log)}")
            failed = True
    if failed:
        return
    for what, unit, mine, other in (
        ("wall time", "s", _median(ours, "seconds"), _median(theirs, "seconds")),
        ("CPU (user+sys)", "s", _median(ours, "cpu"), _median(theirs, "cpu")),
        ("peak RSS", "MiB", max(r.rss for r in ours) / MiB, max(r.rss for r in theirs) / MiB),
    ):
        figure(f"{label}: lamefair, {what}", mine, unit)
        figure(f"{label}: pynxtools-em, {what}", other, unit)
        ratio(f"{label}: {what}, ours / theirs", mine, other)
    python = dataconverter.parent / "python"
    print(f"   {label}: lamefair output {_validate(python, ours_out)}", flush=True)
    print(f"   {label}: pynxtools-em output {_validate(python, theirs_out)}", flush=True)


def run(folder: Path, quick: bool = False) -> None:
    """Print the comparison; say what is missing or failed instead of raising."""
    dataconverter, corpus = _dataconverter(), _corpus()
    if not dataconverter.exists():
        print(f"   pynxtools-em: {dataconverter} not found (`make bench` installs it)")
        return
    if corpus is None:
        print("   pynxtools-em comparison: corpus not found (set LAMEFAIR_CORPUS)")
        return
    repeat = 1 if quick else 3
    side = 2048 if quick else 4096
    cases = [(label, corpus / name) for name, label in CORPUS_CASES.items()]
    cases.append((f"Helios tags {side}x{side} uint16", folder / f"helios_{side}.tif"))
    for index, (label, source) in enumerate(cases):
        try:
            if not source.exists():
                _big_helios(corpus, source, side)
            work = folder / f"em{index}"
            work.mkdir()
            _case(label, source, work, dataconverter, repeat, warm_up=index == 0)
        except Exception as exc:  # noqa: BLE001 - a failing comparison must not end the bench
            print(f"   {label}: comparison failed: {type(exc).__name__}: {exc}", flush=True)
