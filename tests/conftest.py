"""Fixtures shared by the whole suite: real components and a clean per-test environment."""

from __future__ import annotations

import os

# Qt must pick its platform before the first Qt import anywhere in the session.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import boto3  # noqa: E402
import keyring  # noqa: E402
import pytest  # noqa: E402
from botocore.config import Config  # noqa: E402

from lamefair_catalog.embedded.seaweed import S3Credentials, SeaweedError, SeaweedServer  # noqa: E402
from tests.support import components  # noqa: E402
from tests.support.memory_keyring import MemoryKeyring  # noqa: E402

# Parallel runs (pytest-xdist, as `make test` runs): one unit of work per file, longest first.
pytest_plugins = ["tests.support.parallel"]


@pytest.hookimpl(trylast=True)  # after pytest grouped the tests by their session parameters
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    from tests.support import parallel  # loaded as a plugin first (pytest rewrites its asserts)

    parallel.longest_first(items)


# Lines a test adds to its report's user_properties under one of these names are shown in a
# section of that name at the end of the run; reports reach the xdist controller, output does not.
SUMMARY_SECTIONS = ("facility figures",)
_summary_lines: dict[str, list[str]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":  # the last report of a test holds all it added
        for name, line in report.user_properties:
            if name in SUMMARY_SECTIONS:
                _summary_lines.setdefault(name, []).append(line)


def pytest_terminal_summary(terminalreporter) -> None:
    for section, lines in _summary_lines.items():
        terminalreporter.section(section)
        for line in lines:
            terminalreporter.write_line(line)


# The user's real lamefair folders (platformdirs on Linux reads XDG_*, defaulting to these).
_REAL_FOLDERS = [
    Path.home() / ".config" / "lamefair",
    Path.home() / ".local" / "share" / "lamefair",
    Path.home() / ".cache" / "lamefair",
    Path.home() / ".local" / "state" / "lamefair",
]


_XDG_VARIABLES = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")


@pytest.fixture(scope="session", autouse=True)
def session_xdg_folders(tmp_path_factory) -> Iterator[None]:
    """The XDG folders point into the run's own folder from the start of the session: a module-
    or session-scoped fixture runs before each test's `lamefair_home`, and a catalog it started
    wrote its logs to the real ~/.local/state/lamefair (test_thumbnails_ui's did)."""
    root = tmp_path_factory.mktemp("session-xdg")
    saved = {variable: os.environ.get(variable) for variable in _XDG_VARIABLES}
    for variable in _XDG_VARIABLES:
        os.environ[variable] = str(root / variable.lower())
    yield
    for variable, value in saved.items():
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value


@pytest.fixture(scope="session", autouse=True)
def real_folders_untouched(session_xdg_folders) -> Iterator[None]:
    """The suite never writes to the user's real settings or data, not even from a process a test
    starts with every LAMEFAIR_* variable stripped (which has no LAMEFAIR_HOME to go to)."""
    before = {folder for folder in _REAL_FOLDERS if folder.exists()}
    yield
    created = [str(folder) for folder in _REAL_FOLDERS if folder.exists() and folder not in before]
    assert not created, f"the test run created the user's real folders: {created}"


@pytest.fixture(autouse=True)
def lamefair_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own settings/data/cache/log folders; the XDG folders point into the
    test's own folder too, for processes started without LAMEFAIR_HOME (the 'nothing configured'
    cases), so those get platformdirs' defaults inside the test and never the real ones."""
    home = tmp_path / "lamefair-home"
    monkeypatch.setenv("LAMEFAIR_HOME", str(home))
    for variable in _XDG_VARIABLES:
        monkeypatch.setenv(variable, str(tmp_path / "xdg" / variable.lower()))
    return home


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """Every test gets an empty in-memory keyring; nothing reaches the machine's real one, not
    even from the processes tests start (the engines' process, the CLI): they get none."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def thread_pools_idle_at_the_end() -> Iterator[None]:
    """A test must not leave jobs running behind it (they would touch the next test's state)."""
    yield
    import sys

    if "lamefair_desktop.workers.pools" in sys.modules:
        from lamefair_desktop.workers.pools import all_pools

        for pool in all_pools():
            assert pool.waitForDone(10_000), f"thread pool {pool.objectName()} still busy"


# --- SeaweedFS --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One SeaweedFS (S3 gateway with SigV4 identities) for the session (for each xdist worker);
    it starts again on other ports when one was taken meanwhile (SeaweedServer.wait_ready)."""
    server = SeaweedServer(tmp_path_factory.mktemp("seaweed"), S3Credentials.generate())
    try:
        server.start()
    except SeaweedError as exc:
        components.unavailable("SeaweedFS", str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_client(seaweed: SeaweedServer):
    return boto3.client(
        "s3",
        endpoint_url=seaweed.endpoint,
        aws_access_key_id=seaweed.credentials.access_key,
        aws_secret_access_key=seaweed.credentials.secret_key,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[components.PostgresDatabase]:
    """A fresh database on the local PostgreSQL server, dropped at the end of the session."""
    database = components.create_postgres_database()
    yield database
    components.drop_postgres_database(database)


# --- OIDC -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[components.OidcProvider]:
    provider = components.start_oidc_provider(tmp_path_factory.mktemp("oidc"))
    yield provider
    components.stop_pid(provider.process)


# --- corpus -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def corpus_tiff_dir() -> Path:
    folder = components.corpus_dir() / "tiff"
    if not folder.is_dir():
        components.unavailable("TIFF corpus", f"{folder} does not exist (set LAMEFAIR_CORPUS)")
    return folder


@pytest.fixture(scope="session")
def corpus_tiffs(corpus_tiff_dir: Path) -> list[Path]:
    files = sorted(corpus_tiff_dir.glob("*.tif"))
    if not files:
        components.unavailable("TIFF corpus", f"no .tif files in {corpus_tiff_dir}")
    return files
