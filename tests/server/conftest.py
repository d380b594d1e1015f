"""The server on each store, with an agent and two people: in-process by default (the ASGI
application called directly, lifespan and all, through Starlette's test client: what the
network adds does not matter to most tests), or a real uvicorn server on loopback for a test
marked ``socket`` (long-polls, several connections at once, other processes talking to it).
In-process requests go through ``httpx.ASGITransport``, driven from these synchronous tests by
an event loop in a thread of its own."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI

from watchkeeper.config import Settings
from watchkeeper.orders.loader import builtin
from watchkeeper.orders.model import StandingOrders
from watchkeeper.server.app import create_app
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities

ACTION = {"tool": "shell", "environment": "prod", "input": {"command": "rm -rf /srv/data"}}
#: The installed command, as an operator runs it.
EXE = str(Path(sys.executable).with_name("watchkeeper"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(
        self,
        base: str,
        agent_key: str,
        auditor: str,
        approver: str,
        store: Store,
        client: httpx.Client | None = None,
    ):
        self.base, self.agent_key, self.auditor, self.approver = base, agent_key, auditor, approver
        self.store = store
        #: Requests go through this client (in-process), or over the socket at ``base``.
        self.client = client

    def request(
        self, method: str, path: str, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if self.client is not None:
            return self.client.request(method, path, headers=headers, **kwargs)
        return httpx.request(method, self.base + path, headers=headers, timeout=10, **kwargs)

    def post(self, path: str, key: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, key, **kwargs)

    def get(self, path: str, key: str | None = None) -> httpx.Response:
        return self.request("GET", path, key)


def serve_process(
    url: str,
    home: Path,
    *options: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
    capture: bool = False,
) -> tuple[subprocess.Popen[bytes], str]:
    """``watchkeeper serve`` on ``url`` in a process of its own, working in ``home`` (its key
    there); the process and its base URL once it answers. ``capture``: keep its stderr."""
    port = port or _free_port()
    environ = {**os.environ, "WATCHKEEPER_AUDIT_KEY": str(home / "audit.key"), **(env or {})}
    proc = subprocess.Popen(
        [EXE, "serve", "--db", url, "--port", str(port), *options], env=environ, cwd=home,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE if capture else subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("the server did not start")


@contextlib.contextmanager
def serving(
    store: Store, settings: Settings, orders: StandingOrders | None = None
) -> Iterator[str]:
    """A real server for ``store`` on a free loopback port; its base URL."""
    app = create_app(orders or builtin(), store, settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class InProcess(httpx.BaseTransport):
    """``httpx.ASGITransport`` for a synchronous client: each request runs on ``portal``'s
    event loop, where the application's lifespan runs too."""

    def __init__(self, app: FastAPI, portal: BlockingPortal) -> None:
        # As a server does: an exception the application raised is its 500, not the caller's.
        self.asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> tuple[int, httpx.Headers, bytes]:
            copy = httpx.Request(request.method, request.url, headers=request.headers,
                                 content=body)  # fmt: skip
            answer = await self.asgi.handle_async_request(copy)
            return answer.status_code, answer.headers, await answer.aread()

        status, headers, content = self.portal.call(send)
        return httpx.Response(status, headers=headers, content=content, request=request)


@contextlib.contextmanager
def in_process(
    store: Store, settings: Settings, orders: StandingOrders | None = None
) -> Iterator[httpx.Client]:
    """A client of the application for ``store``, called in this process, its lifespan
    running."""
    app = create_app(orders or builtin(), store, settings)
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(app.router.lifespan_context(app)),
        httpx.Client(
            transport=InProcess(app, portal), base_url="http://watchkeeper.test"
        ) as client,
    ):
        yield client


@pytest.fixture
def served(request: pytest.FixtureRequest, store_url: str, tmp_path: Path) -> Iterator[Served]:
    store = Store.open(store_url)
    ids = Identities(store)
    agent_key = ids.add_agent("infra-bot")
    ids.add_user("audit@example.com", role="auditor", groups=[], password="x" * 16)
    ids.add_user("alice@example.com", role="approver", groups=["sre"], password="x" * 16)
    auditor = ids.issue_token("audit@example.com")
    approver = ids.issue_token("alice@example.com")
    settings = Settings(audit_key=str(tmp_path / "audit.key"), max_input_bytes=4096)
    try:
        if request.node.get_closest_marker("socket"):
            with serving(store, settings) as base:
                yield Served(base, agent_key, auditor, approver, store)
        else:
            with in_process(store, settings) as client:
                yield Served(str(client.base_url), agent_key, auditor, approver, store, client)
    finally:
        store.close()
