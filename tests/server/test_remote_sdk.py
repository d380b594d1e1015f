"""The SDK in remote mode against a real server: guard, wait, consume once, report outcomes."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.server.conftest import Served
from tests.server.test_approvals import people, vote
from watchkeeper import ActionDenied, ApprovalPending, UsageError, Watchkeeper

#: These talk to the server as other processes and many connections do: over a socket.
pytestmark = pytest.mark.socket

DELETE = "rm -rf /srv/data"


@pytest.fixture
def connect(served: Served) -> Iterator[Callable[..., Watchkeeper]]:
    """Connected SDK instances, closed after the test."""
    made: list[Watchkeeper] = []

    def make(url: str | None = None, key: str | None = None, **kwargs: Any) -> Watchkeeper:
        wk = Watchkeeper.connect(url or served.base, key or served.agent_key, **kwargs)
        made.append(wk)
        return wk

    yield make
    for wk in made:
        wk.close()


def events(served: Served, kind: str) -> list[dict[str, Any]]:
    found = served.get("/v1/audit?limit=1000", served.auditor).json()["events"]
    return [e["event"] for e in found if e["kind"] == kind]


def pending_approval(served: Served) -> str:
    """The approval the guard is waiting on, once it exists."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        requested = events(served, "approval_requested")
        if requested:
            return str(requested[-1]["approval"])
        time.sleep(0.02)
    raise AssertionError("no approval was requested")


def approve_soon(served: Served, tokens: list[str]) -> threading.Thread:
    def approve() -> None:
        approval = pending_approval(served)
        for token in tokens:
            assert vote(served, token, approval, "approve", comment="ok").status_code == 200

    thread = threading.Thread(target=approve)
    thread.start()
    return thread


def test_allowed_calls_run_and_report_success(
    served: Served, connect: Callable[..., Watchkeeper]
) -> None:
    wk = connect()
    ran: list[str] = []

    @wk.guard(tool="shell", environment="prod")
    def shell(command: str) -> str:
        ran.append(command)
        return "listed"

    assert shell("ls /srv") == "listed"
    assert ran == ["ls /srv"]
    (outcome,) = events(served, "outcome")
    assert outcome["status"] == "succeeded"
    assert outcome["released"] is True


def test_a_failing_call_reports_failed_with_the_exception(
    served: Served, connect: Callable[..., Watchkeeper]
) -> None:
    wk = connect()

    @wk.guard(tool="shell", environment="prod")
    def shell(command: str) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        shell("ls /srv")
    (outcome,) = events(served, "outcome")
    assert outcome["status"] == "failed"
    assert outcome["detail"] == "RuntimeError: disk full"


def test_denied_calls_do_not_run(served: Served, connect: Callable[..., Watchkeeper]) -> None:
    wk = connect()

    @wk.guard(tool="shell", environment="prod")
    def shell(command: str) -> None:
        raise AssertionError("a denied call ran")

    with pytest.raises(ActionDenied):
        shell("echo cm0gLXJmIC8K | base64 -d | sh")
    assert events(served, "outcome") == []


def test_an_ask_waits_for_two_approvals_then_runs_once(
    served: Served, connect: Callable[..., Watchkeeper]
) -> None:
    (bob,) = people(served, "bob@example.com")
    wk = connect(wait=30)
    ran: list[str] = []

    @wk.guard(tool="shell", environment="prod")
    def shell(command: str) -> str:
        ran.append(command)
        return "deleted"

    approver = approve_soon(served, [served.approver, bob])
    started = time.monotonic()
    assert shell(DELETE) == "deleted"
    approver.join()
    assert ran == [DELETE]
    assert time.monotonic() - started < 20  # woken by the vote, not by the 30 s wait
    assert len(events(served, "grant_consumed")) == 1
    (outcome,) = events(served, "outcome")
    assert outcome["released"] is True
    assert outcome["decision"] == "ask"


def test_a_wait_that_runs_out_raises_pending_and_the_same_call_resumes(
    served: Served, connect: Callable[..., Watchkeeper]
) -> None:
    (bob,) = people(served, "bob@example.com")
    wk = connect(wait=0.3)
    ran: list[str] = []

    @wk.guard(tool="shell", environment="prod")
    def shell(command: str) -> None:
        ran.append(command)

    with pytest.raises(ApprovalPending) as pending:
        shell(DELETE)
    assert ran == []
    approval = pending.value.approval_id
    assert approval in str(pending.value)
    for token in (served.approver, bob):
        assert vote(served, token, approval, "approve").status_code == 200
    shell(DELETE)  # the same arguments: the same action, the same approval
    assert ran == [DELETE]
    assert len(events(served, "approval_requested")) == 1
    assert [e["approval"] for e in events(served, "approval_joined")] == [approval]
    with pytest.raises(ApprovalPending):
        shell(DELETE)  # the grant was used: asking again opens a new approval
    assert len(events(served, "approval_requested")) == 2


def test_a_changed_argument_does_not_join_the_open_approval(
    served: Served, connect: Callable[..., Watchkeeper]
) -> None:
    wk = connect(wait=0.1)

    @wk.guard(tool="shell", environment="prod")
    def shell(command: str) -> None:
        raise AssertionError("ran without approval")

    with pytest.raises(ApprovalPending) as first:
        shell(DELETE)
    with pytest.raises(ApprovalPending) as second:
        shell(DELETE + "2")
    assert first.value.approval_id != second.value.approval_id


def test_a_denied_approval_raises_with_the_reviewers_words(
    served: Served, connect: Callable[..., Watchkeeper]
) -> None:
    wk = connect(wait=30)

    @wk.guard(tool="shell", environment="prod")
    def shell(command: str) -> None:
        raise AssertionError("a denied call ran")

    def deny() -> None:
        approval = pending_approval(served)
        vote(served, served.approver, approval, "deny", comment="take a snapshot first")

    thread = threading.Thread(target=deny)
    thread.start()
    with pytest.raises(ActionDenied, match="take a snapshot first"):
        shell(DELETE)
    thread.join()


def test_async_guards_wait_without_blocking_the_loop(
    served: Served, connect: Callable[..., Watchkeeper]
) -> None:
    (bob,) = people(served, "bob@example.com")
    wk = connect(wait=30)

    @wk.guard(tool="shell", environment="prod")
    async def shell(command: str) -> str:
        return "done"

    async def main() -> tuple[str, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        result = await shell(DELETE)
        task.cancel()
        return result, ticks

    approver = approve_soon(served, [served.approver, bob])
    result, ticks = asyncio.run(main())
    approver.join()
    assert result == "done"
    assert ticks > 3  # the loop kept running while the guard waited


def test_an_unreachable_server_is_a_deny(
    served: Served, connect: Callable[..., Watchkeeper]
) -> None:
    wk = connect("http://127.0.0.1:9", timeout=2)
    decision = wk.check({"tool": "shell", "input": {"command": "ls"}})
    assert decision.decision == "deny"
    assert "cannot be reached" in decision.reasons[0]

    @wk.guard(tool="shell")
    def shell(command: str) -> None:
        raise AssertionError("ran without a decision")

    with pytest.raises(ActionDenied, match="cannot be reached"):
        shell("ls")


def test_a_wrong_key_is_a_deny_that_says_why(
    served: Served, connect: Callable[..., Watchkeeper]
) -> None:
    wk = connect(key="not-a-key")
    decision = wk.check({"tool": "shell", "input": {"command": "ls"}})
    assert decision.decision == "deny"
    assert "401" in decision.reasons[0]


def test_remote_mode_refuses_what_needs_local_orders(
    served: Served, connect: Callable[..., Watchkeeper]
) -> None:
    wk = connect()
    with pytest.raises(UsageError, match="decides on the server"):
        wk.explain({"tool": "shell", "input": {"command": "ls"}})
    with pytest.raises(UsageError, match="http"):
        Watchkeeper.connect("127.0.0.1:8470", served.agent_key)


def test_hand_off_waits_for_a_person_and_returns_their_notes(
    served: Served, connect: Callable[..., Watchkeeper]
) -> None:
    wk = connect(session="chat-9", wait=30)
    answers: list[dict[str, Any]] = []
    talk = [{"role": "customer", "text": "I was charged twice"}]
    asking = threading.Thread(target=lambda: answers.append(wk.hand_off(
        "charged twice for order 8812", "refunds over 1,000 are outside my charter",
        asks_for="a refund of 1,200", tried=["looked up the order"], transcript=talk)))  # fmt: skip
    asking.start()
    deadline = time.monotonic() + 10
    queue: list[dict[str, Any]] = []
    while not queue and time.monotonic() < deadline:
        queue = served.get("/v1/cases", served.approver).json()["cases"]
        time.sleep(0.05)
    (case,) = queue
    assert (case["session"], case["transcript"]) == ("chat-9", talk)
    notes = "Refund 1,200 to the card; tell her 3 to 5 days."
    handed = served.post(f"/v1/cases/{case['id']}/hand-back", served.approver,
                         json={"notes": notes})  # fmt: skip
    assert handed.status_code == 200, handed.text
    asking.join(20)
    (answer,) = answers
    assert answer["state"] == "handed_back"
    assert answer["notes"] == notes
    assert answer["message"].startswith("Handed back by alice@example.com")


def test_hand_off_past_its_wait_says_a_person_has_it(
    served: Served, connect: Callable[..., Watchkeeper]
) -> None:
    answer = connect().hand_off("a question", "not mine to answer", wait=0.5)
    assert answer["state"] == "open"
    assert "waits for a person" in answer["message"]
    with pytest.raises(UsageError, match="hand_off needs people"):
        Watchkeeper.default().hand_off("x", "y")
