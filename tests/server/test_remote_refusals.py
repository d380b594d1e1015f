"""The remote SDK against a server that answers wrongly: every surprise is a deny, and the
guarded function runs only on a grant for exactly its action."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from watchkeeper import ActionDenied, UsageError, Watchkeeper
from watchkeeper.adapters.remote import Remote

ASK = {"decision": "ask", "reasons": ["needs people"], "action_digest": "sha256:" + "a" * 64,
       "approval_id": "ap1", "action_id": 4}  # fmt: skip


class Scripted:
    """Answers each path with what the test scripted (JSON, or raw bytes)."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, Any]] = {}
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                status, body = scripted.answers.get(self.path.split("?")[0], (404, {}))
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = answer  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    server = Scripted()
    yield server
    server.server.shutdown()
    server.server.server_close()


def guarded(wk: Watchkeeper, ran: list[str]) -> Any:
    @wk.guard(tool="shell")
    def shell(command: str) -> str:
        ran.append(command)
        return "ran"

    return shell


def test_an_answer_that_is_not_json_is_a_deny(scripted: Scripted) -> None:
    scripted.answers["/v1/actions"] = (200, b"<html>proxy login</html>")
    with Watchkeeper.connect(scripted.url, "key") as wk:
        decision = wk.check({"tool": "shell", "input": {"command": "ls"}})
    assert decision.decision == "deny"
    assert "answered 200" in decision.reasons[0]


def test_an_answer_that_is_not_a_decision_is_a_deny(scripted: Scripted) -> None:
    scripted.answers["/v1/actions"] = (200, {"decision": "maybe"})
    with Watchkeeper.connect(scripted.url, "key") as wk:
        assert wk.check({"tool": "shell", "input": {"command": "ls"}}).decision == "deny"


def test_an_ask_without_an_approval_is_a_deny(scripted: Scripted) -> None:
    scripted.answers["/v1/actions"] = (200, {**ASK, "approval_id": None})
    ran: list[str] = []
    with (
        Watchkeeper.connect(scripted.url, "key") as wk,
        pytest.raises(ActionDenied, match="opened none"),
    ):
        guarded(wk, ran)("rm -rf /srv")
    assert ran == []


@pytest.mark.parametrize(
    "grant",
    [
        {"granted": False, "approval_id": "ap1", "digest": ASK["action_digest"]},
        {"granted": True, "approval_id": "other", "digest": ASK["action_digest"]},
        {"granted": True, "approval_id": "ap1", "digest": "sha256:" + "b" * 64},
    ],
)
def test_only_a_grant_for_exactly_this_action_runs_it(
    scripted: Scripted, grant: dict[str, Any]
) -> None:
    scripted.answers["/v1/actions"] = (200, ASK)
    scripted.answers["/v1/approvals/ap1"] = (200, {"id": "ap1", "state": "approved"})
    scripted.answers["/v1/approvals/ap1/consume"] = (200, grant)
    ran: list[str] = []
    with (
        Watchkeeper.connect(scripted.url, "key", wait=1) as wk,
        pytest.raises(ActionDenied, match="not a grant"),
    ):
        guarded(wk, ran)("rm -rf /srv")
    assert ran == []


def test_a_redirect_is_not_an_answer(scripted: Scripted) -> None:
    scripted.answers["/v1/actions"] = (302, {"decision": "allow", "reasons": []})
    with Watchkeeper.connect(scripted.url, "key") as wk:
        assert wk.check({"tool": "shell", "input": {"command": "ls"}}).decision == "deny"


def test_an_outcome_that_cannot_be_reported_is_logged_not_raised(
    scripted: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    scripted.answers["/v1/actions"] = (200, {"decision": "allow", "reasons": [], "action_id": 9})
    scripted.answers["/v1/actions/9/outcome"] = (500, {"error": {"message": "db down"}})
    ran: list[str] = []
    with Watchkeeper.connect(scripted.url, "key") as wk:
        assert guarded(wk, ran)("ls") == "ran"
    assert ran == ["ls"]
    assert "the outcome of action 9 was not reported" in caplog.text


def test_a_connection_needs_a_key() -> None:
    with pytest.raises(UsageError, match="api_key is empty"):
        Remote("http://127.0.0.1:8470", "")


def test_an_answer_with_a_key_twice_is_a_deny(scripted: Scripted) -> None:
    # Read by a lax parser, the last copy would win: an allow smuggled after a deny.
    scripted.answers["/v1/actions"] = (
        200,
        b'{"decision": "deny", "reasons": ["no"], "action_digest": "sha256:'
        + b"a" * 64
        + b'", "action_id": 4, "decision": "allow"}',
    )
    ran: list[str] = []
    with Watchkeeper.connect(scripted.url, "key") as wk, pytest.raises(ActionDenied) as denied:
        guarded(wk, ran)("ls")
    assert ran == []
    assert "answered 200" in denied.value.reasons[0]
