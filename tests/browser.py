"""Real-browser test harness: a `streamlit run app.py` server and headless Debian Chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("IM2TXT_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach Google's hosts,
# which this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(
    log_path: Path, env: dict[str, str] | None = None, timeout: float = 90
) -> Iterator[str]:
    """Run `streamlit run app.py` on a free local port; yields its URL; output goes to log_path."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process, log_path, timeout)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(url: str, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit not healthy after {timeout}s:\n{log_path.read_text()}")


@contextlib.contextmanager
def chromium_page(viewport: tuple[int, int] = (1366, 900)) -> Iterator[object]:
    """A Playwright page in headless Debian Chromium (Playwright cannot download browsers here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            yield page
        finally:
            browser.close()


# Streamlit 1.67 marks the app root with data-test-script-state: "initial" until the first run
# starts, then "running", "rerunRequested", "stopRequested", "notRunning" (finished) or
# "compilationError". Elements a run has not re-sent yet carry data-stale="true", and elements whose
# code is still loading (the frontend imports most widgets lazily) show an stSkeleton placeholder,
# so "notRunning" alone can come before the last elements of the run are on the page.
_SETTLED = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app !== null
        && app.dataset.testScriptState === 'notRunning'
        && document.querySelector(
            '[data-testid="stAppSkeleton"], [data-testid="stSkeleton"], [data-stale="true"]'
        ) === null;
}"""


def wait_for_app(page, timeout_ms: float = 60_000) -> None:
    """Wait until the last script run has finished and all its elements are on the page.

    After an action that makes Streamlit rerun (a click, an upload, a page link), the page still
    shows the previous run, finished, until the new run starts: first wait for something only
    the new run shows (its heading, a result), then call this.
    """
    page.wait_for_function(_SETTLED, timeout=timeout_ms)


def wait_for_heading(page, text: str, timeout_ms: float = 60_000) -> None:
    """Wait until the page's title (its h1) contains text, then until the run has finished."""
    page.locator('[data-testid="stMainBlockContainer"] h1', has_text=text).first.wait_for(
        timeout=timeout_ms
    )
    wait_for_app(page, timeout_ms)


def nav_labels(page) -> list[str]:
    """The page names in the sidebar navigation, in order (without their icons' ligatures)."""
    links = page.locator('[data-testid="stSidebarNavLink"] [data-testid="stMarkdownContainer"]')
    return [label.strip() for label in links.all_inner_texts()]


def exception_texts(page) -> list[str]:
    """Texts of any exception boxes Streamlit shows."""
    return [e.inner_text() for e in page.query_selector_all('[data-testid="stException"]')]
