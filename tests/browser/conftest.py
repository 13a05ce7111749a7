"""Browser tests: a real `streamlit run` server and headless Chromium through Playwright (sync).

A test module names its app with ``STREAMLIT_SCRIPT = "tests/browser/<app>.py"`` (relative to
the repository root) and asks for ``app_url`` and ``page``. Without /usr/bin/chromium or the
playwright package every test in this directory is skipped (CI has both).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Shared with the load scripts: the protocol reader, Debian's Chromium and its flags.
from scripts.harness import ARTIFACTS, BUSY, CHROMIUM, CHROMIUM_ARGS, ROOT, run_event

HERE = Path(__file__).resolve().parent

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - developer machines only
    sync_playwright = None
else:
    # Playwright's 5 s default is short for a 2-core CI machine drawing Plotly charts while
    # another worker runs its own server: checks wait up to 30 s for their condition.
    expect.set_options(timeout=30_000)

if sync_playwright is None:
    SKIP_REASON = "browser tests need the playwright package (pip install playwright)"
elif not os.path.exists(CHROMIUM):
    SKIP_REASON = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
else:
    SKIP_REASON = ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not SKIP_REASON:
        return
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)  # read by the page fixture to screenshot
    return report


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(script: str, log_path: Path) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run <script>` and return it with its base URL once it is healthy."""
    port = _free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.headless", "true",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",  # others may edit the tree while tests run
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            pass
        if time.monotonic() > deadline:
            _stop(proc)
            pytest.fail(f"streamlit not healthy after 60 s:\n{log_path.read_text()}")
        time.sleep(0.25)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def _servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One server per app script for the whole session (of each xdist worker), started when a
    module first asks: every session in it is a new browser context, so modules share nothing
    but the server process, and each start (the process, then the first run's imports) cost
    5-10 s on the 2-core VM, once per module and worker before."""
    servers: dict[str, Any] = {}
    try:
        yield servers
    finally:
        for proc, _ in servers.values():
            _stop(proc)


@pytest.fixture(scope="module")
def app_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            _servers: dict[str, Any]) -> str:
    """The base URL of `streamlit run <module's STREAMLIT_SCRIPT>` (started at its first use;
    started again if it has died)."""
    script = request.module.STREAMLIT_SCRIPT
    running = _servers.get(script)
    if running is None or running[0].poll() is not None:
        log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
        _servers[script] = _start_server(script, log_path)
    return _servers[script][1]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page (1200×900) that follows the server's script runs (for
    ``wait_until_idle``); its uncaught JS errors collect in ``page.js_errors``.

    On a failed test a full-page screenshot goes to test-artifacts/<test name>.png.
    """
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    _follow_script_runs(pg)
    pg.js_errors = []
    pg.on("pageerror", lambda err: pg.js_errors.append(str(err)))
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
        try:
            pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception as exc:  # a crashed page must not hide the test's own failure
            print(f"screenshot failed: {exc}")
    context.close()


RUNNING = "[data-testid='stApp'][data-test-script-state='running']"
NOT_RUNNING = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _follow_script_runs(page: Any) -> None:
    """Follow the server's messages: ``page.st_busy`` while a run is under way (from its first
    message to its ``script_finished``), ``page.st_runs`` counts finished runs."""
    page.st_busy, page.st_runs = False, 0

    def on_frame(payload: Any) -> None:
        event = run_event(payload)
        if event == BUSY:
            page.st_busy = True
        elif event is not None:
            page.st_busy = False
            page.st_runs += 1

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))


def wait_until_idle(page: Any, timeout: float = 30.0) -> None:
    """Wait briefly (1.5 s) for the script run an action may have started, then until it ended.

    On pages from the ``page`` fixture this reads the server's messages: a quick run can go
    from notRunning to running and back within one React render, so the stApp attribute alone
    may never show it. On other pages it falls back to that attribute.
    """
    following = hasattr(page, "st_runs")
    seen = getattr(page, "st_runs_seen", 0)
    if following and page.st_runs == 0:
        # A page just opened has not finished its first run (a cold server imports torch...):
        # it is not idle before that, however quiet it looks.
        deadline = time.monotonic() + max(timeout, 90.0)
        while page.st_runs == 0:
            if time.monotonic() > deadline:
                raise TimeoutError("the page's first script run never finished")
            page.wait_for_timeout(50)

    def started() -> bool:
        if following:
            return page.st_busy or page.st_runs > seen
        return page.locator(RUNNING).count() > 0

    start = time.monotonic()
    while time.monotonic() - start < 1.5 and not started():
        page.wait_for_timeout(25)
    while following and page.st_busy:
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"script still running after {timeout} s")
        page.wait_for_timeout(25)
    page.wait_for_selector(NOT_RUNNING, state="attached", timeout=timeout * 1000)
    page.st_runs_seen = getattr(page, "st_runs", 0)


@pytest.fixture
def idle() -> Any:
    """``wait_until_idle`` as a fixture, so test modules need not import conftest."""
    return wait_until_idle

