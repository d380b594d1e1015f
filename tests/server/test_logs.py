"""The server says what it does: a banner, one line per request and one per decision, as text
or JSON, and never a secret."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import ACTION, EXE, serve_process
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities


def serve(url: str, home: Path, *options: str) -> tuple[subprocess.Popen[bytes], str]:
    return serve_process(url, home, *options, capture=True)


def stopped(proc: subprocess.Popen[bytes]) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    return err.decode()


def with_password(url: str) -> str:
    """The same database, its URL carrying a password (trust auth ignores it)."""
    return url.replace("postgres@", "postgres:s3cret-pw@", 1)


def test_a_line_per_request_and_per_decision_and_never_a_secret(
    store_url: str, tmp_path: Path
) -> None:
    store = Store.open(store_url)
    ids = Identities(store)
    key = ids.add_agent("infra-bot")
    ids.add_user("alice@example.com", role="approver", groups=[], password="x" * 16)
    token = ids.issue_token("alice@example.com")
    store.close()
    url = with_password(store_url)
    proc, base = serve(url, tmp_path, "--log-format", "json")
    try:
        asked = httpx.post(base + "/v1/actions", json=ACTION, timeout=10,
                           headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
        httpx.get(base + "/v1/approvals?state=all&reason=private", timeout=10,
                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        httpx.get(base + "/v1/approvals", headers={"Authorization": "Bearer nope"}, timeout=10)
        httpx.get(base + "/v1/audit", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        time.sleep(0.5)  # lines are written by a thread of their own
    finally:
        err = stopped(proc)
    for secret in (key, token, "s3cret-pw", "private"):
        assert secret not in err
    lines: list[dict[str, Any]] = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    banner = next(x for x in lines if x["logger"] == "watchkeeper.server")
    assert banner["orders_digest"].startswith("sha256:")
    assert banner["checkpoint_key"].startswith("watchkeeper/audit+")
    if "postgresql" in store_url:
        assert "postgres:***@127.0.0.1" in banner["database"]
    requests = [x for x in lines if x["logger"] == "watchkeeper.access"]
    posted = next(x for x in requests if x["path"] == "/v1/actions")
    assert (posted["method"], posted["status"], posted["who"]) == ("POST", 200, "agent infra-bot")
    assert posted["ms"] > 0
    listed = next(x for x in requests if x["path"] == "/v1/approvals" and x["status"] == 200)
    assert listed["who"] == "alice@example.com"
    assert any(x["status"] == 401 and x["who"] == "-" for x in requests)
    # A valid credential refused for its role is named: who probed the audit log is known.
    refused = next(x for x in requests if x["path"] == "/v1/audit")
    assert (refused["status"], refused["who"]) == (403, "alice@example.com")
    (decided,) = [x for x in lines if x["logger"] == "watchkeeper.decision"]
    assert decided["action_id"] == asked["action_id"]
    assert (decided["tool"], decided["decision"]) == ("shell", "ask")
    assert decided["rules"] == "prod-irreversible-needs-two"
    assert decided["approval_id"] == asked["approval_id"]


def test_text_lines_and_the_level(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db'}"
    proc, base = serve(url, tmp_path)
    httpx.get(base + "/healthz", timeout=10)
    time.sleep(0.3)
    err = stopped(proc)
    assert "info watchkeeper.access request method=GET path=/healthz status=200 ms=" in err
    assert 'orders="built-in defaults"' in err
    proc, base = serve(url, tmp_path, "--log-level", "warning")
    httpx.get(base + "/healthz", timeout=10)
    time.sleep(0.3)
    assert "watchkeeper.access" not in stopped(proc)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--log-format=xml", "--log-format 'xml': use one of text, json"),
        ("--log-level=loud", "--log-level 'loud': use one of debug, info, warning, error"),
    ],
)
def test_a_bad_log_option_is_refused_by_name(tmp_path: Path, option: str, message: str) -> None:
    done = subprocess.run([EXE, "serve", "--db", f"sqlite:///{tmp_path / 'db'}", option],
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
