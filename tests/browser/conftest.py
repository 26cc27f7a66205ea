"""A real joignable served on loopback (uvicorn in a thread, timers running) and Debian's
chromium driven by Playwright. Skipped, saying why, where either is missing: Playwright's own
browser download does not work on these machines, so `.ci/run` installs Debian's chromium."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from joignable.bootstrap import Login, open_services, seed_demo
from joignable.web.accounts import Role
from joignable.web.services import Services

CHROMIUM = os.environ.get("JOIGNABLE_CHROMIUM", "/usr/bin/chromium")
# As root in a sandbox with a closed network: no sandbox, no GPU, and none of chromium's own
# calls home (refused here, and slow to fail).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float = 5.0) -> T:
    """What ``probe`` finds once it finds something (polled, for state the page does not show)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def log_in(page: Any, served: Served, role: Role) -> None:
    """Log the page's browser in as ``role``, through its own request context (so the session
    cookie is the browser's, as after the login form)."""
    login = served.logins[role]
    r = page.request.post(
        f"{served.base}/api/session",
        data={"username": login.username, "password": login.password},
    )
    assert r.ok, r.text()


def new_page(browser: Any, locale: str = "en-US", timeout: float = 5000) -> Any:
    """A page in a context of its own (close it with ``page.context.close()``)."""
    page = browser.new_context(locale=locale).new_page()
    page.set_default_timeout(timeout)
    return page


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """An anonymous page in English."""
    page = new_page(browser)
    try:
        yield page
    finally:
        page.context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    base: str
    services: Services
    logins: dict[Role, Login]

    def staff(self, role: Role) -> httpx.Client:
        """A logged-in client (session cookie and CSRF header), as the agent desktop will be."""
        login = self.logins[role]
        client = httpx.Client(base_url=self.base, timeout=10)
        r = client.post(
            "/api/session", json={"username": login.username, "password": login.password}
        )
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return client


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import uvicorn

    from joignable.web.app import create_app

    db = tmp_path_factory.mktemp("browser") / "center.db"
    services = open_services(
        str(db), tick_every=0.2, hasher=PasswordHasher.from_parameters(CHEAPEST)
    )
    logins = {x.role: x for x in seed_demo(services)}
    port = _free_port()
    config = uvicorn.Config(
        create_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", services, logins)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        services.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
