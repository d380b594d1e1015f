"""Escalation and timeouts on the database's clock (SPEC §7 invariant 4): steps fall due and
widen who may answer; `on_timeout: deny` expires; `on_timeout: escalate` extends once with the
whole ladder, then the last level denies. Time passing is simulated by moving the approval's
clock columns back, so nothing here sleeps."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sqlalchemy import text

from watchkeeper.decision import ApprovalRequirement, Escalation
from watchkeeper.errors import ApprovalError
from watchkeeper.store.approvals import Approvals
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities, User

GROUPS = {"sre": ["alice@example.com"], "leads": ["lee@example.com"], "vps": ["vic@example.com"]}


def person(store: Store, email: str) -> User:
    ids = Identities(store)
    ids.add_user(email, groups=[], password="x" * 16)
    user = ids.check_password(email, "x" * 16)
    assert user is not None
    return user


def opened(store: Store, approvals: Approvals, on_timeout: str = "deny") -> str:
    requirement = ApprovalRequirement(
        rule="r", group="sre", timeout_seconds=600, on_timeout=on_timeout,
        escalate=(Escalation(60, "leads"), Escalation(300, "vps")),
    )  # fmt: skip
    with store.writing() as conn:
        return approvals.create_in(conn, 0, "infra-bot", "sha256:d", [requirement])


def age(store: Store, approval: str, seconds: float) -> None:
    """Pretend ``seconds`` have passed for this approval."""
    with store.writing() as conn:
        conn.execute(text("UPDATE approvals SET opened_at = opened_at - :s, "
                          "expires_at = expires_at - :s WHERE id = :i"),
                     {"s": seconds, "i": approval})  # fmt: skip


def events(store: Store, kind: str) -> list[dict[str, Any]]:
    return [json.loads(x.event) for x in AuditLog(store).leaves() if x.kind == kind]


def test_a_step_falls_due_and_widens_who_may_answer(store: Store) -> None:
    approvals = Approvals(store, GROUPS)
    lee = person(store, "lee@example.com")
    approval = opened(store, approvals)
    with pytest.raises(ApprovalError, match="names you"):
        approvals.vote(approval, lee, "approve")
    assert approvals.tick() == 0  # nothing due yet
    age(store, approval, 61)
    assert approvals.tick() == 1
    assert approvals.tick() == 0  # once
    (step,) = events(store, "approval_escalated")
    assert step["to"] == ["leads"]
    assert step["level"] == 1
    view = approvals.vote(approval, lee, "approve", "lead approves")
    assert view["state"] == "approved"
    assert view["escalation_level"] == 1


def test_timeout_deny_expires_and_nothing_can_approve_it(store: Store) -> None:
    approvals = Approvals(store, GROUPS)
    alice = person(store, "alice@example.com")
    approval = opened(store, approvals)
    age(store, approval, 601)
    assert approvals.tick() == 1  # both steps and the deadline passed: expiry wins
    with pytest.raises(ApprovalError, match="expired"):
        approvals.vote(approval, alice, "approve")
    assert len(events(store, "approval_expired")) == 1


def test_timeout_escalate_extends_once_with_the_whole_ladder_then_denies(store: Store) -> None:
    approvals = Approvals(store, GROUPS)
    vic = person(store, "vic@example.com")
    approval = opened(store, approvals, on_timeout="escalate")
    age(store, approval, 601)
    assert approvals.tick() == 1
    view = approvals.get(approval)
    assert view is not None
    assert view["state"] == "pending"
    assert view["extended"] is True
    assert view["required"][0]["escalated_to"] == ["leads", "vps"]
    age(store, approval, 601)  # the extension runs out too: the last level denies
    assert approvals.tick() == 1
    view = approvals.get(approval)
    assert view is not None
    assert view["state"] == "expired"
    with pytest.raises(ApprovalError):
        approvals.vote(approval, vic, "approve")


def test_replicas_ticking_at_once_escalate_once(store: Store) -> None:
    approval = opened(store, Approvals(store, GROUPS))
    age(store, approval, 61)
    replicas = [Approvals(store, GROUPS) for _ in range(4)]
    threads = [threading.Thread(target=r.tick) for r in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(events(store, "approval_escalated")) == 1
    assert AuditLog(store).verify().ok


def test_the_scheduler_writes_only_for_approvals_whose_time_has_come(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib
    from collections.abc import Iterator

    approvals = Approvals(store, GROUPS)
    requirement = ApprovalRequirement(
        rule="r", group="sre", timeout_seconds=600,
        escalate=(Escalation(60, "leads"), Escalation(300, "vps")),
    )  # fmt: skip
    waiting = []
    for n in range(20):  # twenty different actions, each waiting for people
        with store.writing() as conn:
            waiting.append(approvals.create_in(conn, n, "infra-bot", f"sha256:{n}", [requirement]))
    writes: list[int] = []
    real = store.writing

    @contextlib.contextmanager
    def counted() -> Iterator[Any]:
        writes.append(1)
        with real() as conn:
            yield conn

    monkeypatch.setattr(store, "writing", counted)
    assert approvals.tick() == 0
    assert writes == []  # no write transaction (nor the log's lock) while nothing is due
    monkeypatch.setattr(store, "writing", real)
    age(store, waiting[3], 61)  # one escalation step due
    age(store, waiting[7], 601)  # one deadline passed
    monkeypatch.setattr(store, "writing", counted)
    assert approvals.tick() == 2
    assert len(writes) == 2
    monkeypatch.setattr(store, "writing", real)
    assert approvals.get(waiting[7])["state"] == "expired"  # type: ignore[index]
    assert [e["approval"] for e in events(store, "approval_escalated")] == [waiting[3]]
