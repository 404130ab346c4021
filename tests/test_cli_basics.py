"""The installed entry points answer, and the GUI explains itself on a machine without a display."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lamefair_desktop import __version__

BIN = Path(sys.executable).parent


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)


def test_lamefair_version_is_the_installed_distribution_version():
    result = _run(str(BIN / "lamefair"), "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"lamefair {__version__}"
    assert __version__ != "0+unknown"


def test_catalog_help_lists_its_purpose():
    result = _run(str(BIN / "lamefair-catalog"), "--help")
    assert result.returncode == 0
    assert "catalog server" in result.stdout


def test_gui_without_display_points_to_the_cli():
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY"}}
    env.pop("QT_QPA_PLATFORM", None)
    result = _run(str(BIN / "lamefair"), env=env)
    assert result.returncode == 2
    assert "needs a display" in result.stderr
    assert "lamefair --help" in result.stderr
    assert "Traceback" not in result.stderr


def test_main_window_starts_the_local_catalog_with_nothing_configured(qtbot):
    import httpx

    from lamefair_desktop.catalog import local_server
    from lamefair_desktop.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert __version__ in window.windowTitle()
    # The window syncs the catalog once the server answers; wait for that first sync so it
    # cannot reset the tree under the assertions below.
    with qtbot.waitSignals([window.workspace_ready, window.catalog_synced], timeout=90_000):
        pass
    try:
        server = window.workspace.connection.local
        assert server.url.startswith("http://127.0.0.1:")
        assert f"Local catalog: {server.url}" == window.server_label.text()
        assert window.online_label.text() == "● online"
        assert window.user_label.text()  # the local user
        assert not window.login_action.isEnabled()  # local mode needs no sign-in
        # 60 s, not httpx's 5 s: creating a proposal makes its buckets, seconds on a busy machine
        # while the window starts (the suite timed out here once).
        me = httpx.get(
            f"{server.url}/api/me", headers={"Authorization": f"Bearer {server.token}"}, timeout=60
        ).json()
        assert "admin" in me["roles"]
        # Something in the catalog from elsewhere, then a sync: the tree shows it, lazily.
        headers = {"Authorization": f"Bearer {server.token}"}
        project = httpx.post(
            f"{server.url}/api/projects", json={"name": "Tree test"}, headers=headers, timeout=60
        ).json()
        httpx.post(
            f"{server.url}/api/proposals",
            json={"project": project["id"], "number": "P-7"},
            headers=headers,
            timeout=60,
        ).raise_for_status()
        with qtbot.waitSignal(window.catalog_synced, timeout=30_000):
            window.sync_action.trigger()
        view = window.catalog_view
        qtbot.waitUntil(lambda: view.model().rowCount() == 1, timeout=30_000)
        first = view.model().index(0, 0)
        assert first.data() == "Tree test (1)"
        with qtbot.waitSignal(window.tree_model.children_loaded, timeout=30_000):
            view.expand(first)
        assert view.model().index(0, 0, first).data() == "P-7"
        window.filter_box.setText("no such thing")
        assert view.model().rowCount() == 0
        window.filter_box.setText("tree")
        assert view.model().rowCount() == 1
    finally:
        window.close()
        window.shutdown()
    assert local_server.find_running() is None


def test_missing_x11_libraries_are_named_instead_of_a_qt_abort(monkeypatch, capsys):
    import ctypes.util

    from lamefair_desktop.ui import app

    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(
        ctypes.util, "find_library", lambda name: None if name == "xcb-icccm" else f"lib{name}.so"
    )
    assert app.missing_xcb_libraries() == ["libxcb-icccm"]
    assert app.run(None) == 2
    err = capsys.readouterr().err
    assert "libxcb-icccm" in err
    assert "apt-get install" in err


def test_sigterm_closes_the_window_and_stops_the_local_catalog(tmp_path):
    """A logout or `kill` must not orphan the local catalog and its SeaweedFS."""
    import signal
    import time

    from lamefair_desktop.catalog import local_server

    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    env |= {"LAMEFAIR_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    app = subprocess.Popen([str(BIN / "lamefair")], env=env, stderr=subprocess.PIPE, text=True)
    data = tmp_path / "home" / "data" / "catalog"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and local_server.find_running(data) is None:
        time.sleep(0.3)
    running = local_server.find_running(data)
    assert running is not None, "the window did not start the local catalog"
    engines_log = tmp_path / "home" / "logs" / "engines.log"
    while time.monotonic() < deadline and "engines started" not in _text(engines_log):
        time.sleep(0.3)
    started = re.search(r"engines started .* \(pid (\d+)\)", _text(engines_log))
    assert started, "the window did not start its engines' process"
    try:
        app.send_signal(signal.SIGTERM)
        assert app.wait(60) == 0, app.stderr.read()
        assert local_server.find_running(data) is None
        assert "Traceback" not in app.stderr.read()
        with pytest.raises(ProcessLookupError):
            os.kill(running.pid, 0)
        assert "engines stopped" in _text(engines_log)  # at a clean point, not orphaned
        with pytest.raises(ProcessLookupError):
            os.kill(int(started.group(1)), 0)
    finally:  # a failure here must not leave a catalog and SeaweedFS running after the suite
        if local_server.find_running(data) is not None:
            os.kill(running.pid, signal.SIGTERM)


def _text(path) -> str:
    return path.read_text() if path.exists() else ""
