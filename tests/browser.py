"""What the browser tests share: Chromium, its pages, signing in, and the servers they browse.

Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright; Playwright's own browser
download is never used (``playwright install`` is not run anywhere). scripts/setup.sh
installs Chromium whenever it runs as root, as CI does: there a missing browser is a
broken set-up and fails; elsewhere the browser tests skip. The servers run in a thread of
the test process on an ephemeral port of 127.0.0.1, so tests can run side by side.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 15_000


def require_chromium() -> None:
    """Fail (as root, where setup.sh installs it) or skip the calling module without Chromium."""
    if CHROMIUM.exists():
        return
    if os.geteuid() == 0:
        pytest.fail(f"{CHROMIUM} is missing although scripts/setup.sh runs as root and installs it", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium", allow_module_level=True)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """One headless Chromium; a module launches one and gives each test a fresh context."""
    from playwright import sync_api

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def new_page(browser: Any) -> Iterator[Any]:
    """A page in a fresh context (no cookies). ``page.csp_errors`` collects what the
    content security policy refused (the console's "Refused ..." errors; a refused login
    answering 401 and the browser asking for /favicon.ico are other, expected errors)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.csp_errors = []
        page.on("console", lambda msg: msg.type == "error" and "Refused" in msg.text
                and page.csp_errors.append(msg.text))
        yield page
    finally:
        context.close()


def log_in(page: Any, base: str, username: str, password: str) -> None:
    """Sign in through the login form and wait for the queue it lands on."""
    from playwright import sync_api

    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    sync_api.expect(page.get_by_role("heading", name="Review queue")).to_be_visible()


@contextlib.contextmanager
def serve_app(app: Any, name: str) -> Iterator[str]:
    """``app`` (ASGI) served by uvicorn in a thread; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start within 20s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class _FreshHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, never from a cache: a page the publisher rewrites within the second
    it was last read would otherwise be answered 304 (``If-Modified-Since`` compares whole
    seconds) and the browser would show the old one."""

    def do_GET(self) -> None:
        del self.headers["If-Modified-Since"]
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_directory(directory: Path, name: str) -> Iterator[str]:
    """Static files of ``directory`` (it may not exist yet) over HTTP; yields the base URL, with its slash."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_FreshHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
