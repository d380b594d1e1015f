"""The kill switch and outcomes end to end against a real server (SPEC §7 invariant 7)."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import httpx

from tests.server.conftest import ACTION, Served
from tests.server.test_approvals import ask, people, vote
from watchkeeper.store.identities import Identities

READ = {"tool": "shell", "environment": "prod", "input": {"command": "ls /srv"}}


def pause(served: Served, token: str, **body: Any) -> httpx.Response:
    return served.post("/v1/pause", token, json=body)


def resume(served: Served, token: str, pause_id: str, reason: str) -> httpx.Response:
    return served.request("DELETE", f"/v1/pause/{pause_id}", token, json={"reason": reason})


def decide(served: Served, key: str, action: dict[str, Any]) -> dict[str, Any]:
    answer = served.post("/v1/actions", key, json=action)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_global_pause_denies_everything_until_a_person_resumes(served: Served) -> None:
    assert decide(served, served.agent_key, READ)["decision"] == "allow"
    paused = pause(served, served.approver, scope="all", reason="agents misbehaving")
    assert paused.status_code == 200, paused.text
    body = decide(served, served.agent_key, READ)
    assert body["decision"] == "deny"
    assert body["reasons"][0].startswith("paused: everything is paused by alice@example.com")
    assert body["action_id"] is not None  # refused actions are recorded too
    pause_id = paused.json()["id"]
    assert resume(served, served.approver, pause_id, "").status_code == 422  # needs a reason
    assert resume(served, served.agent_key, pause_id, "x").status_code == 401  # needs a person
    assert resume(served, served.approver, pause_id, "root cause fixed").status_code == 200
    assert resume(served, served.approver, pause_id, "again").status_code == 409
    assert decide(served, served.agent_key, READ)["decision"] == "allow"
    kinds = [e["kind"] for e in served.get("/v1/audit?limit=1000", served.auditor).json()["events"]]
    assert "pause" in kinds
    assert "resume" in kinds
    assert kinds.index("pause") < kinds.index("resume")


def test_an_agent_pause_covers_only_that_agent(served: Served) -> None:
    other = Identities(served.store).add_agent("other-bot")
    assert pause(served, served.approver, scope="agent", target="infra-bot",
                 reason="loop").status_code == 200  # fmt: skip
    assert decide(served, served.agent_key, READ)["decision"] == "deny"
    assert decide(served, other, READ)["decision"] == "allow"


def test_a_session_pause_covers_only_that_session(served: Served) -> None:
    assert pause(served, served.approver, scope="session", target="s-1",
                 reason="odd").status_code == 200  # fmt: skip
    assert decide(served, served.agent_key, {**READ, "session": "s-1"})["decision"] == "deny"
    assert decide(served, served.agent_key, {**READ, "session": "s-2"})["decision"] == "allow"
    assert decide(served, served.agent_key, READ)["decision"] == "allow"


def test_pause_cancels_pending_approvals_and_revokes_unused_grants(served: Served) -> None:
    (bob,) = people(served, "bob@example.com")
    pending = ask(served)["approval_id"]
    approved = ask(served, "rm -rf /srv/other")
    for token in (served.approver, bob):
        assert vote(served, token, approved["approval_id"], "approve").status_code == 200
    third = {**ACTION, "session": "s-9", "input": {"command": "rm -rf /srv/third"}}
    other_session = decide(served, served.agent_key, third)
    answer = pause(served, served.approver, scope="agent", target="infra-bot", reason="stop")
    assert sorted(answer.json()["cancelled"]) == sorted(
        [pending, approved["approval_id"], other_session["approval_id"]]
    )
    for approval in (pending, approved["approval_id"]):
        view = served.get(f"/v1/approvals/{approval}", served.approver).json()
        assert view["state"] == "cancelled"
    assert vote(served, bob, pending, "approve").status_code == 409
    consume = served.post(f"/v1/approvals/{approved['approval_id']}/consume",
                          served.agent_key, json={"digest": approved["digest"]})  # fmt: skip
    assert consume.status_code == 410
    assert consume.json()["error"]["code"] == "cancelled"


def test_a_session_pause_cancels_only_that_sessions_approvals(served: Served) -> None:
    inside = decide(served, served.agent_key, {**ACTION, "session": "s-1"})["approval_id"]
    outside = ask(served, "rm -rf /srv/elsewhere")["approval_id"]
    answer = pause(served, served.approver, scope="session", target="s-1", reason="odd")
    assert answer.json()["cancelled"] == [inside]
    assert served.get(f"/v1/approvals/{outside}", served.approver).json()["state"] == "pending"


def test_a_grant_already_used_is_not_revoked_and_stays_used(served: Served) -> None:
    (bob,) = people(served, "bob@example.com")
    body = ask(served)
    for token in (served.approver, bob):
        vote(served, token, body["approval_id"], "approve")
    assert served.post(f"/v1/approvals/{body['approval_id']}/consume", served.agent_key,
                       json={"digest": body["digest"]}).status_code == 200  # fmt: skip
    answer = pause(served, served.approver, scope="all", reason="after the fact")
    assert answer.json()["cancelled"] == []
    view = served.get(f"/v1/approvals/{body['approval_id']}", served.approver).json()
    assert view["state"] == "approved"
    assert view["consumed"] is True


def test_only_approvers_and_admins_pause_and_bad_requests_say_why(served: Served) -> None:
    assert pause(served, served.agent_key, scope="all", reason="x").status_code == 401
    assert pause(served, served.auditor, scope="all", reason="x").status_code == 403
    bad = pause(served, served.approver, scope="everything", reason="x")
    assert bad.status_code == 422
    assert "scope 'everything'" in bad.json()["error"]["message"]
    assert pause(served, served.approver, scope="agent", reason="x").status_code == 422
    assert pause(served, served.approver, scope="all").json()["error"]["code"] == "reason_required"
    assert resume(served, served.approver, "nope", "x").status_code == 404


def test_the_pause_list_shows_what_is_in_force(served: Served) -> None:
    first = pause(served, served.approver, scope="all", reason="one").json()
    pause(served, served.approver, scope="agent", target="infra-bot", reason="two")
    resume(served, served.approver, first["id"], "done")
    active = served.get("/v1/pause", served.auditor).json()["pauses"]
    assert [p["reason"] for p in active] == ["two"]
    everything = served.get("/v1/pause?all=true", served.auditor).json()["pauses"]
    assert {p["reason"] for p in everything} == {"one", "two"}
    # Two pauses over one agent: lifting one leaves the other in force.
    assert decide(served, served.agent_key, READ)["decision"] == "deny"


def test_no_action_slips_past_a_pause_under_concurrency(served: Served) -> None:
    """Agents submit while a pause lands: every answer after the pause committed is deny, and
    no approval is left pending in the paused scope."""
    stop = threading.Event()
    answers: list[tuple[float, dict[str, Any]]] = []

    def agent(n: int) -> None:
        for i in itertools.count():
            if stop.is_set():
                return
            action = {**ACTION, "input": {"command": f"rm -rf /srv/d{n}-{i}"}}  # new approvals
            sent = time.monotonic()
            answers.append((sent, decide(served, served.agent_key, action)))

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    landed = pause(served, served.approver, scope="agent", target="infra-bot", reason="race")
    committed = time.monotonic()
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    assert landed.status_code == 200
    late = [b for sent, b in answers if sent > committed]  # sent after the pause committed
    assert late
    assert all(b["decision"] == "deny" for b in late)
    for _at, body in answers:
        if body.get("approval_id"):
            view = served.get(f"/v1/approvals/{body['approval_id']}", served.approver).json()
            assert view["state"] == "cancelled", body


def test_outcomes_are_recorded_for_the_agents_own_actions(served: Served) -> None:
    allowed = decide(served, served.agent_key, READ)
    path = f"/v1/actions/{allowed['action_id']}/outcome"
    ok = served.post(path, served.agent_key, json={"status": "succeeded", "detail": "3 files"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["released"] is True
    assert ok.json()["decision"] == "allow"
    assert served.post(path, served.agent_key, json={"status": "reverted"}).status_code == 200
    bad = served.post(path, served.agent_key, json={"status": "fine"})
    assert bad.status_code == 422
    assert "status 'fine'" in bad.json()["error"]["message"]
    other = Identities(served.store).add_agent("other-bot")
    assert served.post(path, other, json={"status": "failed"}).status_code == 404
    assert served.post(path, served.approver, json={"status": "failed"}).status_code == 401
    not_an_action = f"/v1/actions/{allowed['action_id'] + 1}/outcome"  # its decision event
    assert served.post(not_an_action, served.agent_key,
                       json={"status": "failed"}).status_code == 404  # fmt: skip
    events = served.get("/v1/audit?limit=1000", served.auditor).json()["events"]
    outcomes = [e["event"] for e in events if e["kind"] == "outcome"]
    assert [o["status"] for o in outcomes] == ["succeeded", "reverted"]
    assert outcomes[0]["action_index"] == allowed["action_id"]


def test_an_outcome_for_an_unreleased_ask_is_recorded_as_not_released(served: Served) -> None:
    body = ask(served)
    answer = served.post(f"/v1/actions/{body['action_id']}/outcome", served.agent_key,
                         json={"status": "succeeded"})  # fmt: skip
    assert answer.status_code == 200
    assert answer.json()["released"] is False
    assert answer.json()["decision"] == "ask"


# ── found by a review of the approvals server ──────────────────────────────────────────────


def test_a_session_pause_cannot_be_escaped_by_joining_another_sessions_approval(
    served: Served,
) -> None:
    (bob,) = people(served, "bob@example.com")
    first = decide(served, served.agent_key, {**ACTION, "session": "s1"})
    second = decide(served, served.agent_key, {**ACTION, "session": "s2"})
    assert first["approval_id"] != second["approval_id"]  # no joining across sessions
    pause(served, served.approver, scope="session", target="s2", reason="odd")
    for token in (served.approver, bob):  # s1's approval may still be approved
        vote(served, token, first["approval_id"], "approve")
    refused = served.post(f"/v1/approvals/{second['approval_id']}/consume", served.agent_key,
                          json={"digest": second["digest"]})  # fmt: skip
    assert refused.status_code == 410  # cancelled by the pause


def test_pauses_racing_votes_and_consumes_never_fail_a_request(served: Served) -> None:
    """One lock order everywhere: a pause landing among votes and consumes neither deadlocks
    nor answers 500 (PostgreSQL detected deadlocks before)."""
    from concurrent.futures import ThreadPoolExecutor

    tokens = people(served, "bob@example.com", "carol@example.com")
    asked = [ask(served, f"rm -rf /srv/race-{n}") for n in range(12)]
    codes: list[int] = []

    def work(n: int) -> None:
        body = asked[n % len(asked)]
        if n == 7:
            codes.append(pause(served, served.approver, scope="all", reason="race").status_code)
            return
        for token in tokens:
            codes.append(vote(served, token, body["approval_id"], "approve").status_code)
        consume = f"/v1/approvals/{body['approval_id']}/consume"
        answer = served.post(consume, served.agent_key, json={"digest": body["digest"]})
        codes.append(answer.status_code)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(len(asked))))
    assert 500 not in codes
    assert set(codes) <= {200, 409, 410}


def test_pausing_an_agent_nobody_knows_names_the_closest_and_pauses_nothing(
    served: Served,
) -> None:
    Identities(served.store).add_agent("dba-bot")
    answer = pause(served, served.approver, scope="agent", target="DBA-bot", reason="typo")
    assert answer.status_code == 404, answer.text
    error = answer.json()["error"]
    assert error["code"] == "unknown_agent"
    assert "there is no agent 'DBA-bot'; did you mean 'dba-bot'?" in error["message"]
    assert "nothing was paused" in error["message"]
    assert served.get("/v1/pause", served.approver).json()["pauses"] == []
    assert pause(served, served.approver, scope="agent", target="dba-bot",
                 reason="right name").status_code == 200  # fmt: skip


def test_a_paused_denial_names_no_rule_and_says_what_it_would_have_been(served: Served) -> None:
    assert pause(served, served.approver, scope="all", reason="drill").status_code == 200
    body = decide(served, served.agent_key, READ)
    assert body["decision"] == "deny"
    assert body["rules"] == []  # not the allow rule that matched: the pause denied it
    assert body["reasons"][1] == "without the pause: allow (reads-are-free)"
    assert body["approvals"] == []
