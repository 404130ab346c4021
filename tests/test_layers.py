"""The layering rules of STYLE.md, checked mechanically.

- Core engines in lamefair_desktop (everything outside ui/ and workers/) import no Qt and no pyqtgraph,
  not even indirectly.
- workers/ never imports ui/.
- The desktop's packages form layers (LAYERS below): a module imports only from its own layer or
  lower ones, and no modules of lamefair_desktop import each other in a circle (function-level
  imports count too: a cycle hidden in a function is still a cycle).
- The desktop imports from the catalog server only its shared schema module and the shared NXem
  judge (the one child-process runner of the FAIRmat validator, used by both sides); the server
  never imports the desktop.
- The server's modules import no cycle, and its packages (web, domain, database, storage, ...)
  depend on each other one way only.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")
# Exactly these modules, not a prefix: "lamefair_catalog.shared_anything" is not allowed by accident.
# Both import only the standard library at module level (h5py and pynxtools only in the judge's
# child process), so the desktop never pulls FastAPI, SQLAlchemy models or boto3 through them.
SHARED_WITH_DESKTOP = ("lamefair_catalog.shared", "lamefair_catalog.nxem_judge")

# Lowest first. Module prefixes under lamefair_desktop; the longest matching prefix decides.
LAYERS = (
    # this PC: folders, settings, the local database; and the exit codes (they import nothing)
    ("", "hashing", "resources", "home", "cli.exit_codes"),
    ("catalog",),  # talking to a catalog: client, sign-in, sync, the Qt-free tree
    ("nexus",),  # conversion to NXem (knows nothing of catalogs or transfers)
    ("transfer",),  # queues, uploads, downloads, conversions to upload
    ("watch",),  # watch folders feed the transfer intake
    ("export",),  # RO-Crate (.eln) exports, streamed from storage
    ("engines",),  # the engines of one catalog together, their process, the workspace
    ("workers", "cli"),  # Qt adapters over the engines; the headless commands
    ("ui",),  # the window
    ("cli.main", "__main__"),  # the entry point: starts the GUI or a command
)


def _python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in _run_time_nodes(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from package import module` imports that module
            names.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if _module_path(f"{node.module}.{alias.name}") is not None
            )
    return names


def _run_time_nodes(tree: ast.AST):
    """Every node but those under `if TYPE_CHECKING:` (annotations only: never imported)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in [child, *_run_time_nodes(child)])
            continue
        yield node
        yield from _run_time_nodes(node)


def _module_path(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _is_core(path: Path) -> bool:
    parts = path.relative_to(ROOT / "lamefair_desktop").parts
    return parts[0] not in {"ui", "workers"}


def test_core_modules_do_not_import_qt_directly():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _python_files("lamefair_desktop")
        if _is_core(path)
        for name in _imports(path)
        if name.split(".")[0] in QT_MODULES
    ]
    assert not offenders, offenders


def test_core_modules_do_not_load_qt_transitively():
    modules = [
        _module_name(path)
        for path in _python_files("lamefair_desktop")
        if _is_core(path)
        and path.name != "__main__.py"
        # Alembic's scripts run inside Alembic only (env.py reads its running context).
        and "migrations" not in path.parts
    ]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r})\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"Qt loaded by core modules: {result.stdout}"


def test_workers_do_not_import_ui():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _python_files("lamefair_desktop/workers")
        for name in _imports(path)
        if name.startswith("lamefair_desktop.ui")
    ]
    assert not offenders, offenders


def test_desktop_and_server_stay_apart():
    desktop = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _python_files("lamefair_desktop")
        for name in _imports(path)
        if name.split(".")[0] == "lamefair_catalog" and name not in SHARED_WITH_DESKTOP
    ]
    server = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _python_files("lamefair_catalog")
        for name in _imports(path)
        if name.startswith("lamefair_desktop")
    ]
    assert not desktop, desktop
    assert not server, server


def test_modules_shared_with_the_desktop_load_no_server_machinery():
    script = (
        "import importlib, sys\n"
        f"for name in {SHARED_WITH_DESKTOP!r}:\n"
        "    importlib.import_module(name)\n"
        "heavy = ('fastapi', 'sqlalchemy', 'boto3', 'pydantic', 'h5py', 'pynxtools')\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"loaded by the shared modules: {result.stdout}"


# --- the catalog server's import graph ---------------------------------------------------------


def _server_import_graph() -> dict[str, set[str]]:
    """Each lamefair_catalog module -> the lamefair_catalog modules it imports, lazy imports
    inside functions included (a cycle through one is a cycle in the design all the same)."""
    paths = {
        _module_name(path).removesuffix(".__init__"): path
        for path in _python_files("lamefair_catalog")
    }
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1 packages
                    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                for alias in node.names:  # `from package import module` imports the module
                    child = f"{base}.{alias.name}"
                    targets.add(child if child in paths else base)
        graph[name] = {target for target in targets if target in paths and target != name}
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path that ends where it starts, or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def _server_part(module: str) -> str:
    """The package (or root module) of lamefair_catalog a module belongs to: "domain", "cli"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_server_modules_import_no_cycle():
    graph = _server_import_graph()
    assert (
        "lamefair_catalog.web.app" in graph["lamefair_catalog.cli"]
    )  # the graph sees lazy imports
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_server_packages_depend_one_way():
    """web -> domain -> database/storage -> settings, never back: each layer reads alone."""
    parts: dict[str, set[str]] = {}
    for module, targets in _server_import_graph().items():
        part = _server_part(module)
        parts.setdefault(part, set()).update(
            _server_part(target) for target in targets if _server_part(target) != part
        )
    cycle = _find_cycle(parts)
    assert cycle is None, " -> ".join(cycle)


def _layer(module: str) -> int:
    inner = module.removeprefix("lamefair_desktop").removeprefix(".")
    best, best_length = None, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = inner == prefix or inner.startswith(f"{prefix}.") or prefix == ""
            if matches and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


def _desktop_graph() -> dict[str, set[str]]:
    graph = {}
    for path in _python_files("lamefair_desktop"):
        module = _module_name(path).removesuffix(".__init__")
        graph[module] = {
            name
            for name in _imports(path)
            if name.startswith("lamefair_desktop.") and _module_path(name) is not None
        }
    return graph


def test_no_module_imports_from_a_higher_layer():
    offenders = [
        f"{module} (layer {LAYERS[_layer(module)]}) imports {name} (layer {LAYERS[_layer(name)]})"
        for module, names in _desktop_graph().items()
        for name in names
        if _layer(name) > _layer(module)
    ]
    assert not offenders, "\n".join(sorted(offenders))


def test_no_import_cycles_in_the_desktop():
    graph = _desktop_graph()
    # A package's __init__ is imported with every module inside it: not an edge of its own.
    cycles, state = [], {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = "open"
        stack.append(module)
        for name in sorted(graph.get(module, ())):
            if state.get(name) == "open":
                cycles.append(" -> ".join([*stack[stack.index(name) :], name]))
            elif name not in state:
                visit(name, stack)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert not cycles, "\n".join(cycles)
