"""A real server with the console, people who sign in to it, and Debian's chromium driven by
Playwright for the pages themselves."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import serving
from watchkeeper.config import Settings
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"


@dataclass
class Console:
    base: str
    store: Store
    agent_key: str
    #: The admin's one-time password, as `serve --admin` prints it.
    one_time: str
    approver_token: str
    #: The file of the key the server signs checkpoints with.
    audit_key: str

    def client(self) -> httpx.Client:
        """A browser-like client: it keeps cookies and does not follow redirects."""
        return httpx.Client(base_url=self.base, timeout=10, follow_redirects=False)


def token_in(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def sign_in(http: httpx.Client, email: str, password: str) -> httpx.Response:
    """Sign in through the form, as a browser does."""
    page = http.get("/login")
    return http.post("/login", data={"csrf": token_in(page.text), "email": email,
                                     "password": password, "next": "/"})  # fmt: skip


def act(http: httpx.Client, path: str, data: dict[str, Any], page: str = "/") -> httpx.Response:
    """Send a form found on ``page`` (for its token) to ``path``."""
    token = token_in(http.get(page).text)
    return http.post(path, data={"csrf": token, **data})


@pytest.fixture
def console(store_url: str, tmp_path: Path) -> Iterator[Console]:
    store = Store.open(store_url)
    ids = Identities(store)
    agent_key = ids.add_agent("infra-bot")
    ids.add_user("alice@example.com", role="approver", groups=["sre"], password=PASSWORD)
    ids.add_user("audit@example.com", role="auditor", groups=[], password=PASSWORD)
    one_time = ids.add_user("root@example.com", role="admin", groups=[])
    assert one_time is not None
    settings = Settings(audit_key=str(tmp_path / "audit.key"), console_idle="30m",
                        console_max="12h")  # fmt: skip
    try:
        with serving(store, settings) as base:
            yield Console(base, store, agent_key, one_time, ids.issue_token("alice@example.com"),
                          settings.audit_key)  # fmt: skip
    finally:
        store.close()


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright (which cannot download browsers of its own here).

    One per test, not per session: while Playwright's synchronous API is open, its event loop
    counts as running in this thread, and a later test's ``asyncio.run`` would fail."""
    if not os.path.exists(CHROMIUM):
        message = (f"{CHROMIUM} is not installed (`make test` installs Debian's chromium): the "
                   "console's browser tests did not run")  # fmt: skip
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()
