"""Approvals end to end against a real server: ask → votes → one grant, and every refusal."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.server.conftest import ACTION, Served
from watchkeeper.store.identities import Identities


def people(served: Served, *emails: str, role: str = "approver") -> list[str]:
    ids = Identities(served.store)
    tokens = []
    for email in emails:
        ids.add_user(email, role=role, groups=["sre"], password="x" * 16)
        tokens.append(ids.issue_token(email))
    return tokens


def ask(served: Served) -> dict[str, Any]:
    answer = served.post("/v1/actions", served.agent_key, json=ACTION)
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
    assert (
        served.post(consume, served.agent_key, json={"digest": "sha256:" + "0" * 64}).status_code
        == 409
    )
    granted = served.post(consume, served.agent_key, json={"digest": body["digest"]})
    assert granted.status_code == 200
    assert granted.json()["granted"] is True
    assert (
        served.post(consume, served.agent_key, json={"digest": body["digest"]}).status_code == 409
    )
    kinds = [e["kind"] for e in served.get("/v1/audit?limit=1000", served.auditor).json()["events"]]
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


def test_break_glass_needs_a_reason_and_an_admin(served: Served) -> None:
    (admin,) = people(served, "root@example.com", role="admin")
    approval = ask(served)["approval_id"]
    assert vote(served, admin, approval, "approve", break_glass=True).status_code == 422
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
