"""Notifications end to end: a real server, a real webhook receiver and Slack stand-in on
loopback, a real SMTP server (aiosmtpd); the outbox, signatures, retries and the audit log."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.server.conftest import Served, _free_port, serving
from watchkeeper.config import Settings
from watchkeeper.orders.loader import load
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities
from watchkeeper.store.outbox import Outbox

SECRET = "s3cret-for-signing"
DELETE = {"tool": "shell", "environment": "prod", "input": {"command": "rm -rf /srv/data"}}


class Receiver:
    """An HTTP server on loopback that records what it is sent; fails the first ``failures``."""

    def __init__(self, failures: int = 0) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.failures = failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def on(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for p, h, b in self.requests if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


def eventually(check: Callable[[], Any], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


ORDERS = """\
environments:
  prod: {{default: allow}}
groups:
  sre: [alice@example.com, bob@example.com]
channels:
  hook: {{type: webhook, url: "{hook}/hook", secret: "$env:WK_TEST_SECRET"}}
  chat: {{type: slack, url: "{hook}/slack"}}
  mail: {{type: email, smtp: "127.0.0.1:{smtp}", from: wk@example.com, to: [sre@example.com]}}
  trail: {{type: log}}
rules:
  - name: deletes-need-sre
    match: {{verb: delete}}
    decision: ask
    approvers: [{{group: sre}}]
    notify: [hook, chat, mail, trail]
"""


class Setup:
    def __init__(self, served: Served, receiver: Receiver, mailbox: Mailbox) -> None:
        self.served, self.receiver, self.mailbox = served, receiver, mailbox


@pytest.fixture
def notifying(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[int], Setup]]:
    """A server whose orders notify a webhook, Slack, email and the log; ``failures`` makes
    the HTTP receiver refuse that many requests first."""
    monkeypatch.setenv("WK_TEST_SECRET", SECRET)
    stack: list[Callable[[], None]] = []

    def start(failures: int = 0) -> Setup:
        receiver = Receiver(failures)
        stack.append(receiver.close)
        mailbox = Mailbox()
        smtp_port = _free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        stack.append(controller.stop)
        path = tmp_path / "orders.yaml"
        path.write_text(ORDERS.format(hook=receiver.url, smtp=smtp_port))
        store = Store.open(store_url)
        stack.append(store.close)
        ids = Identities(store)
        agent_key = ids.add_agent("infra-bot")
        ids.add_user("audit@example.com", role="auditor", groups=[], password="x" * 16)
        ids.add_user("alice@example.com", role="approver", groups=[], password="x" * 16)
        settings = Settings(audit_key=str(tmp_path / "audit.key"),
                            public_url="https://wk.example.com")  # fmt: skip
        context = serving(store, settings, load(path))
        base = context.__enter__()
        stack.append(lambda: context.__exit__(None, None, None))
        served = Served(base, agent_key, ids.issue_token("audit@example.com"),
                        ids.issue_token("alice@example.com"), store)  # fmt: skip
        return Setup(served, receiver, mailbox)

    yield start
    for stop in reversed(stack):
        stop()


def logged(served: Served, kind: str) -> list[dict[str, Any]]:
    """The audit events of ``kind``."""
    leaves = AuditLog(served.store).leaves()
    return [json.loads(leaf.event) for leaf in leaves if leaf.kind == kind]


def ask_and_approve(served: Served) -> str:
    body = served.post("/v1/actions", served.agent_key, json=DELETE).json()
    assert body["decision"] == "ask", body
    approval = str(body["approval_id"])
    voted = served.post(f"/v1/approvals/{approval}/votes", served.approver,
                        json={"vote": "approve", "comment": "snap-1"})  # fmt: skip
    assert voted.json()["state"] == "approved"
    return approval


def test_every_channel_hears_of_the_ask_and_the_decision(
    notifying: Callable[[int], Setup], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="watchkeeper.notify")
    setup = notifying(0)
    approval = ask_and_approve(setup.served)
    hooks = eventually(lambda: len(on := setup.receiver.on("/hook")) >= 2 and on)
    kinds = [json.loads(body)["kind"] for _, body in hooks]
    assert kinds == ["approval_requested", "approval_decided"]
    for headers, body in hooks:  # the signature verifies as a receiver would check it
        timestamp = headers["X-Watchkeeper-Timestamp"]
        expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
        assert headers["X-Watchkeeper-Signature"] == "sha256=" + expected.hexdigest()
        assert headers["Idempotency-Key"] == json.loads(body)["id"]
        assert abs(int(timestamp) - time.time()) < 60
    first = json.loads(hooks[0][1])
    assert first["payload"]["approval"] == approval
    assert first["link"] == f"https://wk.example.com/approvals/{approval}"
    slack = eventually(
        lambda: len(setup.receiver.on("/slack")) >= 2 and setup.receiver.on("/slack")
    )
    message = json.loads(slack[0][1])
    assert "infra-bot asks for approval" in message["text"]
    assert message["blocks"][0]["type"] == "section"
    assert any(approval in json.dumps(b) for b in message["blocks"])
    mail = eventually(lambda: len(setup.mailbox.messages) >= 2 and setup.mailbox.messages)
    assert mail[0].rcpt_tos == ["sre@example.com"]
    assert b"asks for approval" in mail[0].content
    eventually(lambda: sum("was approved" in r.getMessage() for r in caplog.records) >= 1)
    sent = eventually(
        lambda: len(found := logged(setup.served, "notification_sent")) >= 8 and found
    )
    assert len(sent) == 8  # 4 channels × (asked, decided)


def test_a_receiver_that_is_down_gets_it_later_with_the_same_key(
    notifying: Callable[[int], Setup],
) -> None:
    setup = notifying(2)  # the first two POSTs (webhook and Slack) are refused
    served = setup.served
    body = served.post("/v1/actions", served.agent_key, json=DELETE).json()
    assert body["decision"] == "ask"  # a failing channel changes no decision
    hooks = eventually(lambda: setup.receiver.on("/hook"), seconds=20)
    slack = eventually(lambda: setup.receiver.on("/slack"), seconds=20)
    assert len(hooks) == 1
    assert len(slack) == 1
    # The receiver has it; the notifier marks it sent once the answer is back.
    rows = eventually(
        lambda: (
            (found := {r["channel"]: r for r in Outbox(served.store).all()})["hook"]["state"]
            == "sent"
            and found
        )
    )
    assert rows["hook"]["attempts"] == 2
    assert "503" in (rows["hook"]["last_error"] or "")
    failed = logged(served, "notification_failed")
    assert {e["channel"] for e in failed} == {"hook", "chat"}
    assert json.loads(hooks[0][1])["id"] == rows["hook"]["id"]  # the idempotency key held


def test_pauses_and_break_glass_are_loud(notifying: Callable[[int], Setup]) -> None:
    setup = notifying(0)
    served = setup.served
    ids = Identities(served.store)
    ids.add_user("root@example.com", role="admin", groups=[], password="x" * 16)
    admin = ids.issue_token("root@example.com")
    body = served.post("/v1/actions", served.agent_key, json=DELETE).json()
    glass = served.post(f"/v1/approvals/{body['approval_id']}/votes", admin,
                        json={"vote": "approve", "break_glass": True,
                              "comment": "prod is down, restoring"})  # fmt: skip
    assert glass.json()["state"] == "approved"
    served.post("/v1/pause", served.approver, json={"scope": "all", "reason": "drill"})
    hooks = eventually(lambda: len(on := setup.receiver.on("/hook")) >= 3 and on)
    texts = [json.loads(b)["text"] for _, b in hooks]
    assert any("BY BREAK-GLASS" in t for t in texts)
    assert any(t.startswith("PAUSED all by alice@example.com: drill") for t in texts)


def test_an_unset_secret_fails_delivery_and_says_which(
    notifying: Callable[[int], Setup], monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = notifying(0)
    monkeypatch.delenv("WK_TEST_SECRET")
    served = setup.served
    served.post("/v1/actions", served.agent_key, json=DELETE)

    def failing() -> dict[str, Any] | None:
        rows = Outbox(served.store).all()
        return next((r for r in rows if r["channel"] == "hook" and r["last_error"]), None)

    row = eventually(failing)
    assert "WK_TEST_SECRET" in row["last_error"]
    assert row["state"] == "pending"  # tried again later, not lost


ESCALATING = """\
environments:
  prod: {default: allow}
groups:
  sre: [alice@example.com]
  leads: [lee@example.com]
channels:
  hook: {type: webhook, url: "URL/hook"}
rules:
  - name: deletes-need-sre
    match: {verb: delete}
    decision: ask
    approvers: [{group: sre}]
    timeout: 3s
    escalate: [{after: 1s, to: leads}]
    notify: [hook]
"""


def test_the_scheduler_escalates_and_expires_with_nobody_looking(
    store_url: str, tmp_path: Path
) -> None:
    receiver = Receiver()
    path = tmp_path / "orders.yaml"
    path.write_text(ESCALATING.replace("URL", receiver.url))
    store = Store.open(store_url)
    try:
        key = Identities(store).add_agent("infra-bot")
        with serving(store, Settings(audit_key=str(tmp_path / "k")), load(path)) as base:
            served = Served(base, key, "", "", store)
            body = served.post("/v1/actions", key, json=DELETE).json()
            assert body["decision"] == "ask"
            kinds = eventually(
                lambda: (
                    len(got := [json.loads(b)["kind"] for _, b in receiver.on("/hook")]) >= 3
                    and got
                ),
                seconds=20,
            )
        assert kinds == ["approval_requested", "approval_escalated", "approval_expired"]
        escalated = logged(served, "approval_escalated")
        assert escalated[0]["to"] == ["leads"]
        assert [e["approval"] for e in logged(served, "approval_expired")] == [body["approval_id"]]
    finally:
        store.close()
        receiver.close()
