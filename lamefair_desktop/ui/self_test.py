"""`lamefair --self-test`: is this installation whole? Offscreen, with no server and no user data.

Checks, each PASS or FAIL with the reason: Qt starts and shows the main window; every mapping
loads against its schema; the TIFF in `resources/selftest/` converts to NXem that passes our
validator (and pynx's, where installed); the keyring backend (reported); the local stack (catalog +
SeaweedFS) starts in a temporary folder and answers, the engines' process starts against it, and
both stop. Exit 0 only when all pass. It lives in `ui/` because its first check is the window;
the others call the core engines.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CONTEXT = {
    "sample": {
        "name": "self-test lattice",
        "preparation_date": "2026-01-01",
        "atom_types": ["Si"],
        "is_simulation": True,
    },
    "experiment": {"name": "self-test", "start_time": "2026-01-01T00:00:00Z"},
    "measurement": {"operator": "lamefair self-test"},
}


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    seconds: float


def _check_window() -> str:
    if "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")  # offscreen's size-hint notes
    from PySide6.QtWidgets import QApplication

    from lamefair_desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(open_workspace=None)
    window.show()
    app.processEvents()
    if not window.isVisible():
        raise RuntimeError("the main window did not become visible")
    # A marker for bench/package_bench.py, which times process start to this line.
    print("main window shown", flush=True)
    platform = app.platformName()
    window.close()
    return f"{platform} platform, {window.width()}x{window.height()}"


def _check_mappings() -> str:
    from lamefair_desktop.nexus.mapping import MappingRegistry

    registry = MappingRegistry.load()
    pairs = [pair for pair, _label in registry.pairs()]
    return f"{len(pairs)} mappings valid against the schema: {', '.join(pairs)}"


def _check_conversion(folder: Path) -> str:
    from lamefair_desktop.nexus.validate import (
        fairmat_installed,
        fairmat_validate,
        structural_problems,
    )
    from lamefair_desktop.nexus.writer import convert
    from lamefair_desktop.resources import resource_path

    source = resource_path("selftest", "lattice.tif")
    result = convert(source, folder / "lattice.nxs", context=CONTEXT)
    problems = structural_problems(result.output)
    if problems:
        raise RuntimeError("; ".join(problems))
    detail = f"{source.name} -> NXem ({result.pair}, calibrated: {result.calibrated}), structure complete"
    if fairmat_installed():
        report = fairmat_validate(result.output)
        if not report.valid:
            raise RuntimeError("the FAIRmat validator says NOT valid:\n" + report.report[-2000:])
        detail += "; FAIRmat validator: valid"
    return detail


def _check_keyring() -> str:
    from lamefair_desktop.home import diagnostics

    backend = diagnostics.keyring_backend()
    if backend.startswith("keyring.backends.fail"):
        return f"{backend}: no keyring here, sign-in tokens would be kept in memory only"
    return backend


def _check_local_stack(folder: Path) -> str:
    import httpx

    from lamefair_desktop.catalog import local_server

    server = local_server.start(data_dir=folder / "catalog", timeout=120)
    try:
        health = httpx.get(f"{server.url}/api/health", timeout=10).json()
        engines = _check_engine_process(server)
    finally:
        local_server.stop(server)
    if local_server.find_running(folder / "catalog") is not None:
        raise RuntimeError("the local catalog did not stop")
    return f"catalog {health.get('version', '?')} answered at {server.url}; {engines}; both stopped"


def _check_engine_process(server) -> str:
    """The uploads run in a spawned child process: in a frozen build that needs
    multiprocessing's support in the entry point, so it is checked here, for real."""
    from lamefair_desktop.engines.messages import EngineReady
    from lamefair_desktop.engines.process import EngineProcess, EngineTarget
    from lamefair_desktop.home.local_db import default_path, open_local_db
    from lamefair_desktop.home.settings import Settings

    open_local_db()
    target = EngineTarget(server.url, str(default_path()), server.token, False, Settings())
    engines = EngineProcess(target)
    started = time.perf_counter()
    engines.start()
    try:
        deadline = started + 60
        while time.perf_counter() < deadline:
            event = engines.next_event(0.5)
            if isinstance(event, EngineReady):
                return f"background engines ready in {time.perf_counter() - started:.1f} s"
            if event is None and not engines.alive():
                raise RuntimeError(f"the background engines exited with code {engines.exitcode}")
        raise RuntimeError("the background engines did not start within 60 s")
    finally:
        engines.stop(30)


def run_checks(report: Callable[[Check], None] = lambda c: None) -> list[Check]:
    results = []
    with tempfile.TemporaryDirectory(prefix="lamefair-self-test-") as tmp:
        folder = Path(tmp)
        os.environ["LAMEFAIR_HOME"] = str(folder / "home")  # never the user's data
        checks: list[tuple[str, Callable[[], str]]] = [
            ("Qt shows the main window", _check_window),
            ("mappings load", _check_mappings),
            ("TIFF converts to valid NXem", lambda: _check_conversion(folder)),
            ("keyring backend", _check_keyring),
            ("local stack and engines start and stop", lambda: _check_local_stack(folder)),
        ]
        for name, check in checks:
            started = time.perf_counter()
            try:
                detail, passed = check(), True
            except Exception as exc:  # noqa: BLE001 - every failure is a line of the report
                detail, passed = f"{exc.__class__.__name__}: {exc}", False
                if os.environ.get("LAMEFAIR_SELF_TEST_TRACE"):
                    detail += "\n" + traceback.format_exc()
            result = Check(name, passed, detail, time.perf_counter() - started)
            results.append(result)
            report(result)
    return results


def main() -> int:
    from lamefair_desktop import __version__

    print(
        f"lamefair {__version__} self-test ({'frozen' if getattr(sys, 'frozen', False) else 'source'})"
    )

    def show(check: Check) -> None:
        mark = "PASS" if check.passed else "FAIL"
        print(f"{mark}  {check.name} ({check.seconds:.1f} s): {check.detail}", flush=True)

    results = run_checks(show)
    failed = [c for c in results if not c.passed]
    if failed:
        print(f"{len(failed)} of {len(results)} checks failed; see above for what to fix.")
        return 1
    print(f"All {len(results)} checks passed.")
    return 0
