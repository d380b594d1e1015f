"""A real uvicorn server on loopback, on each store, with an agent and two people."""

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

import httpx
import pytest
import uvicorn

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
    def __init__(self, base: str, agent_key: str, auditor: str, approver: str, store: Store):
        self.base, self.agent_key, self.auditor, self.approver = base, agent_key, auditor, approver
        self.store = store

    def post(self, path: str, key: str, **kwargs: object) -> httpx.Response:
        return httpx.post(self.base + path, headers={"Authorization": f"Bearer {key}"},
                          timeout=10, **kwargs)  # type: ignore[arg-type]  # fmt: skip

    def get(self, path: str, key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.get(self.base + path, headers=headers, timeout=10)


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


@pytest.fixture
def served(store_url: str, tmp_path: Path) -> Iterator[Served]:
    store = Store.open(store_url)
    ids = Identities(store)
    agent_key = ids.add_agent("infra-bot")
    ids.add_user("audit@example.com", role="auditor", groups=[], password="x" * 16)
    ids.add_user("alice@example.com", role="approver", groups=["sre"], password="x" * 16)
    auditor = ids.issue_token("audit@example.com")
    approver = ids.issue_token("alice@example.com")
    settings = Settings(audit_key=str(tmp_path / "audit.key"), max_input_bytes=4096)
    try:
        with serving(store, settings) as base:
            yield Served(base, agent_key, auditor, approver, store)
    finally:
        store.close()
