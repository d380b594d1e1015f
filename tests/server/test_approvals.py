"""Approvals end to end against a real server: ask → votes → one grant, and every refusal."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import ACTION, Served, serving
from watchkeeper.config import Settings
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities


def people(served: Served, *emails: str, role: str = "approver") -> list[str]:
    ids = Identities(served.store)
    tokens = []
    for email in emails:
        ids.add_user(email, role=role, groups=["sre"], password="x" * 16)
        tokens.append(ids.issue_token(email))
    return tokens


def ask(served: Served, command: str | None = None) -> dict[str, Any]:
    """An action that needs approval; a new ``command`` for a new approval (the same action
    asked again joins its open approval)."""
    action = ACTION if command is None else {**ACTION, "input": {"command": command}}
    answer = served.post("/v1/actions", served.agent_key, json=action)
    body: dict[str, Any] = answer.json()
    assert body["decision"] == "ask", body
    assert body["approval_id"]
    return body


def vote(served: Served, token: str, approval: str, choice: str, **extra: Any) -> httpx.Response:
    return served.post(f"/v1/approvals/{approval}/votes", token, json={"vote": choice, **extra})


def test_two_approvals_then_one_grant(served: Served) -> None:
    (bob,) = people(served, "bob@example.com")
    body = ask(served)
    approval = body["approval_id"]
    assert served.get(f"/v1/approvals/{approval}", served.agent_key).json()["state"] == "pending"
    first = vote(served, served.approver, approval, "approve", comment="snapshot snap-1")
    assert first.json()["state"] == "pending"  # the built-in prod rule wants two people
    assert vote(served, served.approver, approval, "approve").status_code == 409  # once each
    assert vote(served, bob, approval, "approve").json()["state"] == "approved"
    consume = f"/v1/approvals/{approval}/consume"
    changed = served.post(consume, served.agent_key, json={"digest": "sha256:" + "0" * 64})
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "digest_mismatch"  # bound to this action, named
    granted = served.post(consume, served.agent_key, json={"digest": body["digest"]})
    assert granted.status_code == 200
    assert granted.json()["granted"] is True
    again = served.post(consume, served.agent_key, json={"digest": body["digest"]})
    assert again.status_code == 409
    assert again.json()["error"] == {"code": "not_releasable",
                                     "message": "the approval is already used"}  # fmt: skip
    events = served.get("/v1/audit?limit=1000", served.auditor).json()["events"]
    # A change in production outside business hours also raises the built-in pack's alert.
    kinds = [e["kind"] for e in events if e["kind"] != "alert"]
    assert kinds[-5:] == ["decision", "approval_requested", "vote", "vote", "grant_consumed"]


def test_one_deny_denies(served: Served) -> None:
    approval = ask(served)["approval_id"]
    assert vote(served, served.approver, approval, "deny", comment="no").json()["state"] == "denied"
    body = served.post(f"/v1/approvals/{approval}/consume", served.agent_key,
                       json={"digest": "x"})  # fmt: skip
    assert body.status_code == 409


def test_only_people_vote_and_only_eligible_ones(served: Served) -> None:
    approval = ask(served)["approval_id"]
    assert vote(served, served.agent_key, approval, "approve").status_code == 401  # an agent
    assert vote(served, served.auditor, approval, "approve").status_code == 403  # not an approver
    assert vote(served, served.approver, approval, "maybe").status_code == 422


def test_agents_see_only_their_own_approvals(served: Served) -> None:
    approval = ask(served)["approval_id"]
    other = Identities(served.store).add_agent("other-bot")
    assert served.get(f"/v1/approvals/{approval}", other).status_code == 404
    assert served.post(f"/v1/approvals/{approval}/consume", other,
                       json={"digest": "x"}).status_code == 404  # fmt: skip
    assert served.get(f"/v1/approvals/{approval}", served.approver).status_code == 200
    assert served.get("/v1/approvals", served.agent_key).status_code == 401  # no listing
    listed = served.get("/v1/approvals", served.approver).json()["approvals"]
    assert [a["id"] for a in listed] == [approval]
    assert served.get("/v1/approvals?state=odd", served.approver).status_code == 422


def test_break_glass_needs_a_reason_and_an_admin(served: Served) -> None:
    (admin,) = people(served, "root@example.com", role="admin")
    approval = ask(served)["approval_id"]
    assert vote(served, admin, approval, "approve", break_glass=True).status_code == 422
    hidden = vote(served, admin, approval, "approve", break_glass=True, comment="\u200b\u2800")
    assert hidden.status_code == 422
    loud = vote(served, admin, approval, "approve", break_glass=True, comment="prod is down")
    assert loud.json()["state"] == "approved"


@pytest.mark.slow
def test_fifty_concurrent_consumes_release_once(served: Served) -> None:
    (bob,) = people(served, "bob@example.com")
    body = ask(served)
    approval = body["approval_id"]
    vote(served, served.approver, approval, "approve")
    vote(served, bob, approval, "approve")
    consume = f"/v1/approvals/{approval}/consume"
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(
            lambda _: served.post(consume, served.agent_key, json={"digest": body["digest"]})
            .status_code, range(50)))  # fmt: skip
    assert codes.count(200) == 1
    assert codes.count(409) == 49


@pytest.mark.slow
def test_fifty_concurrent_votes_decide_once_and_the_log_agrees(served: Served) -> None:
    tokens = people(served, *(f"sre{n}@example.com" for n in range(50)))
    body = ask(served)
    approval = body["approval_id"]
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(
            lambda t: vote(served, t, approval, "approve").status_code, tokens))  # fmt: skip
    assert set(codes) <= {200, 409}
    view = served.get(f"/v1/approvals/{approval}", served.approver).json()
    assert view["state"] == "approved"
    assert len(view["votes"]) == codes.count(200) >= 2  # only the votes that counted are kept
    events = served.get("/v1/audit?limit=1000", served.auditor).json()["events"]
    cast = [e["event"] for e in events if e["kind"] == "vote"]
    assert len(cast) == codes.count(200)
    assert [v["state"] for v in cast].count("approved") == 1  # decided exactly once
    consume = f"/v1/approvals/{approval}/consume"
    with ThreadPoolExecutor(16) as pool:
        released = list(pool.map(
            lambda _: served.post(consume, served.agent_key, json={"digest": body["digest"]})
            .status_code, range(50)))  # fmt: skip
    assert released.count(200) == 1
    assert AuditLog(served.store).verify().ok


def test_a_waiting_agent_wakes_when_the_vote_lands(served: Served) -> None:
    import threading
    import time

    (bob,) = people(served, "bob@example.com")
    body = ask(served)
    approval = body["approval_id"]
    vote(served, served.approver, approval, "approve")
    woke: list[float] = []

    def waiting() -> None:
        answer = served.get(f"/v1/approvals/{approval}?wait=20", served.agent_key)
        woke.append(time.monotonic())
        assert answer.json()["state"] == "approved"

    thread = threading.Thread(target=waiting)
    thread.start()
    time.sleep(0.5)  # the agent is waiting now
    voted = time.monotonic()
    vote(served, bob, approval, "approve")
    thread.join(20)
    assert woke, "the waiter never returned"
    assert woke[0] - voted < 0.9  # woken by the vote, not by the once-a-second re-check


def test_a_wait_returns_the_pending_state_when_time_is_up(served: Served) -> None:
    approval = ask(served)["approval_id"]
    answer = served.get(f"/v1/approvals/{approval}?wait=0.3", served.agent_key)
    assert answer.json()["state"] == "pending"


def test_a_vote_on_one_replica_wakes_a_waiter_on_another(pg_url: str, tmp_path: Path) -> None:
    import threading
    import time

    first, second = Store.open(pg_url), Store.open(pg_url)
    ids = Identities(first)
    agent_key = ids.add_agent("infra-bot")
    ids.add_user("alice@example.com", groups=["sre"], password="x" * 16)
    ids.add_user("bob@example.com", groups=["sre"], password="x" * 16)
    alice, bob = ids.issue_token("alice@example.com"), ids.issue_token("bob@example.com")
    settings = Settings(audit_key=str(tmp_path / "audit.key"))
    with serving(first, settings) as a, serving(second, settings) as b:
        body = httpx.post(f"{a}/v1/actions", json=ACTION, timeout=10,
                          headers={"Authorization": f"Bearer {agent_key}"}).json()  # fmt: skip
        approval = body["approval_id"]
        httpx.post(f"{a}/v1/approvals/{approval}/votes", json={"vote": "approve"}, timeout=10,
                   headers={"Authorization": f"Bearer {alice}"})  # fmt: skip
        woke: list[float] = []

        def waiting() -> None:
            answer = httpx.get(f"{b}/v1/approvals/{approval}?wait=20", timeout=30,
                               headers={"Authorization": f"Bearer {agent_key}"})  # fmt: skip
            woke.append(time.monotonic())
            assert answer.json()["state"] == "approved"

        thread = threading.Thread(target=waiting)
        thread.start()
        time.sleep(0.5)
        voted = time.monotonic()
        httpx.post(f"{a}/v1/approvals/{approval}/votes", json={"vote": "approve"}, timeout=10,
                   headers={"Authorization": f"Bearer {bob}"})  # fmt: skip
        thread.join(20)
    first.close()
    second.close()
    assert woke
    assert woke[0] - voted < 0.9  # LISTEN/NOTIFY, not the once-a-second re-check


# ── found by a review of the approvals server ──────────────────────────────────────────────


def test_only_admins_break_glass_and_it_must_be_a_real_boolean(served: Served) -> None:
    approval = ask(served)["approval_id"]
    alone = vote(served, served.approver, approval, "approve", break_glass=True, comment="now")
    assert alone.status_code == 403
    assert "break-glass is for admins (you are approver)" in alone.json()["error"]["message"]
    assert served.get(f"/v1/approvals/{approval}", served.approver).json()["votes"] == []
    (admin,) = people(served, "root@example.com", role="admin")
    denying = vote(served, admin, approval, "deny", break_glass=True, comment="no")
    assert denying.status_code == 422
    assert "break-glass only approves" in denying.json()["error"]["message"]
    other = ask(served, "rm -rf /srv/other")["approval_id"]
    sneaky = vote(served, admin, other, "approve", break_glass="false", comment="x")
    assert sneaky.status_code == 422


def test_an_unused_grant_expires(served: Served) -> None:
    from sqlalchemy import text

    (bob,) = people(served, "bob@example.com")
    body = ask(served)
    for token in (served.approver, bob):
        vote(served, token, body["approval_id"], "approve")
    with served.store.writing() as conn:  # the grant's fifteen minutes pass
        conn.execute(text("UPDATE approvals SET expires_at = expires_at - 901 WHERE id = :i"),
                     {"i": body["approval_id"]})  # fmt: skip
    late = served.post(f"/v1/approvals/{body['approval_id']}/consume", served.agent_key,
                       json={"digest": body["digest"]})  # fmt: skip
    assert late.status_code == 410
    assert late.json()["error"]["code"] == "expired"
    kinds = [e["kind"] for e in served.get("/v1/audit?limit=1000", served.auditor).json()["events"]]
    assert "grant_expired" in kinds


def test_votes_of_people_disabled_since_do_not_count(served: Served) -> None:
    from sqlalchemy import text

    (mallory, bob) = people(served, "mallory@example.com", "bob@example.com")
    approval = ask(served)["approval_id"]
    vote(served, mallory, approval, "approve")
    with served.store.writing() as conn:
        conn.execute(text("UPDATE users SET disabled_at = CURRENT_TIMESTAMP "
                          "WHERE email = 'mallory@example.com'"))  # fmt: skip
    assert vote(served, bob, approval, "approve").json()["state"] == "pending"
    assert vote(served, served.approver, approval, "approve").json()["state"] == "approved"
