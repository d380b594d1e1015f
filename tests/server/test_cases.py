"""Cases: a conversational agent hands a conversation to a person, who claims it and resolves
it or hands it back with notes; the agent waits for the answer; every step is in the audit log."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from tests.server.conftest import Served
from tests.server.test_approvals import people
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.identities import Identities

CASE = {
    "summary": "customer charged twice for order 8812; asks for a refund of 1,200",
    "why": "refunds over 1,000 are outside my charter",
    "asks_for": "a refund of the second charge",
    "customer": "acct-4471 (Dana Wu)",
    "tried": ["looked up order 8812: two captures of 1,200", "offered a voucher: declined"],
    "transcript": [
        {"role": "customer", "text": "I was charged twice!"},
        {"role": "agent", "text": "I see two charges of 1,200 on order 8812."},
    ],
    "session": "chat-9",
}


def open_case(served: Served, **changes: Any) -> dict[str, Any]:
    answer = served.post("/v1/cases", served.agent_key, json={**CASE, **changes})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def step(served: Served, token: str, case: str, change: str, notes: str = "") -> Any:
    return served.post(f"/v1/cases/{case}/{change}", token, json={"notes": notes})


def test_a_case_goes_from_the_queue_to_a_person_and_back_to_the_agent(served: Served) -> None:
    case = open_case(served)
    assert case["state"] == "open"
    assert case["agent"] == "infra-bot"
    assert case["tried"] == CASE["tried"]
    assert case["transcript"] == CASE["transcript"]
    assert "waits for a person" in case["answer"]["message"]
    # The queue shows it to people, oldest first; agents cannot list cases.
    queue = served.get("/v1/cases", served.approver).json()["cases"]
    assert [c["id"] for c in queue] == [case["id"]]
    assert served.get("/v1/cases", served.agent_key).status_code == 401

    claimed = step(served, served.approver, case["id"], "claim")
    assert claimed.status_code == 200, claimed.text
    assert (claimed.json()["state"], claimed.json()["claimed_by"]) == (
        "claimed", "alice@example.com"
    )  # fmt: skip
    mine = served.get(f"/v1/cases/{case['id']}", served.agent_key).json()
    assert mine["answer"]["message"].startswith("A person, alice@example.com, is working on")

    notes = "Refund the second charge of 1,200 now; tell her it takes 3 to 5 days."
    back = step(served, served.approver, case["id"], "hand-back", notes)
    assert back.status_code == 200, back.text
    mine = served.get(f"/v1/cases/{case['id']}", served.agent_key).json()
    assert mine["state"] == "handed_back"
    assert mine["answer"]["notes"] == notes
    assert mine["answer"]["message"] == (
        f"Handed back by alice@example.com (case {case['id']}) with these notes: {notes} "
        "Go on with the conversation as the notes say, and nothing beyond them."
    )
    # Closed: nobody may change it again.
    again = step(served, served.approver, case["id"], "resolve", "done")
    assert again.status_code == 409
    assert "already handed back by alice@example.com" in again.json()["error"]["message"]
    assert served.get("/v1/cases", served.approver).json()["cases"] == []
    done = served.get("/v1/cases?state=handed_back", served.approver).json()["cases"]
    assert [c["id"] for c in done] == [case["id"]]


def test_every_step_is_in_the_audit_log_under_the_case(served: Served) -> None:
    case = open_case(served)
    (bob,) = people(served, "bob@example.com")
    step(served, served.approver, case["id"], "claim")
    step(served, served.approver, case["id"], "release", "billing should take this")
    step(served, bob, case["id"], "claim")
    step(served, bob, case["id"], "resolve", "refunded by hand; customer told by email")
    log = AuditLog(served.store)
    events = [json.loads(leaf.event) for leaf in log.leaves(0, log.size()) if leaf.kind == "case"]
    assert [(e["change"], e.get("by")) for e in events] == [
        ("opened", None),
        ("claimed", "alice@example.com"),
        ("released", "alice@example.com"),
        ("claimed", "bob@example.com"),
        ("resolved", "bob@example.com"),
    ]
    assert events[0]["summary"] == CASE["summary"]
    assert events[0]["transcript"] == CASE["transcript"]
    assert events[2]["notes"] == "billing should take this"
    with served.store.reading() as conn:
        about = log.latest_about(conn, f"case:{case['id']}", log.size(), 10)
    assert [event["change"] for _, event in about] == [
        "resolved", "claimed", "released", "claimed", "opened"
    ]  # fmt: skip
    assert log.verify().ok


def test_a_case_someone_holds_is_theirs(served: Served) -> None:
    case = open_case(served)
    (bob,) = people(served, "bob@example.com")
    Identities(served.store).add_user("root@example.com", role="admin", groups=[],
                                      password="x" * 16)  # fmt: skip
    admin = Identities(served.store).issue_token("root@example.com")
    assert step(served, served.approver, case["id"], "claim").status_code == 200
    # Claiming one's own case again changes nothing; another person is told who holds it.
    assert step(served, served.approver, case["id"], "claim").status_code == 200
    taken = step(served, bob, case["id"], "claim")
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "claimed"
    assert "held by alice@example.com" in taken.json()["error"]["message"]
    for change in ("resolve", "hand-back", "release"):
        assert step(served, bob, case["id"], change, "mine now").status_code == 409
    # An admin may put it back in the queue; then anyone may take it.
    assert step(served, admin, case["id"], "release", "alice is off shift").status_code == 200
    assert step(served, bob, case["id"], "claim").status_code == 200
    # Auditors read cases but do not work them.
    assert served.get(f"/v1/cases/{case['id']}", served.auditor).status_code == 200
    assert step(served, served.auditor, case["id"], "release").status_code == 403


def test_resolving_and_handing_back_need_notes(served: Served) -> None:
    case = open_case(served)
    for change, blank in (("resolve", "  "), ("hand-back", "\u200b\u3164")):
        refused = step(served, served.approver, case["id"], change, blank)
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "notes_required"
    # An open case may be resolved at once: it is claimed and closed by the same person.
    done = step(served, served.approver, case["id"], "resolve", "refunded")
    assert (done.json()["claimed_by"], done.json()["closed_by"]) == ("alice@example.com",) * 2
    # Releasing a case nobody holds is refused, as is a case that does not exist.
    other = open_case(served)
    assert step(served, served.approver, other["id"], "release").json()["error"]["code"] == (
        "not_claimed"
    )
    assert step(served, served.approver, "nope", "claim").status_code == 404


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"summary": ""}, "summary is required"),
        ({"summary": "\u200b\u2800 "}, "summary is required"),  # nothing a reader sees
        ({"why": None}, "why is required"),
        ({"summary": 7}, "summary must be text, not a number: 7"),
        ({"tried": {"a": 1}}, 'tried must be a text or a list of texts, not {"a": 1}'),
        ({"transcript": "x" * 10 + "y"}, None),
        ({"transcript": [{"role": "customer"}]}, "transcript[0] is"),
        ({"transcript": 3}, "transcript must be a list of messages, not a number"),
        ({"refund": 1200}, "unknown field 'refund' in the case"),
    ],
)
def test_a_bad_case_is_refused_naming_the_field(
    served: Served, changes: dict[str, Any], said: str | None
) -> None:
    answer = served.post("/v1/cases", served.agent_key, json={**CASE, **changes})
    if said is None:  # a transcript as one text is kept as one message
        assert answer.json()["transcript"] == [{"role": "transcript", "text": "x" * 10 + "y"}]
        return
    assert answer.status_code == 422, answer.text
    assert said in answer.json()["error"]["message"]
    assert served.get("/v1/cases?state=all", served.approver).json()["cases"] == []


def test_long_transcripts_keep_their_tail(served: Served) -> None:
    messages = [{"role": "customer", "text": f"message {n}"} for n in range(80)]
    case = open_case(served, transcript=messages, tried="x" * 9000)
    assert case["transcript"][0] == {"role": "note", "text": "30 earlier messages cut"}
    assert case["transcript"][-1] == {"role": "customer", "text": "message 79"}
    assert len(case["transcript"]) == 51
    (tried,) = case["tried"]
    assert tried.endswith("(1000 characters cut)")


def test_agents_see_only_their_own_cases(served: Served) -> None:
    case = open_case(served)
    other = Identities(served.store).add_agent("support-bot")
    assert served.get(f"/v1/cases/{case['id']}", other).status_code == 404
    assert served.post(f"/v1/cases/{case['id']}/claim", served.agent_key).status_code == 401
    assert served.get(f"/v1/cases/{case['id']}", served.agent_key).status_code == 200


@pytest.mark.socket
def test_the_agent_waits_and_hears_at_once(served: Served) -> None:
    case = open_case(served)
    heard: list[tuple[float, dict[str, Any]]] = []

    def wait() -> None:
        started = time.monotonic()
        answer = served.get(f"/v1/cases/{case['id']}?wait=30", served.agent_key)
        heard.append((time.monotonic() - started, answer.json()))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    assert heard == []  # still waiting: nothing changed
    notes = "Offer 600 now and the rest after the bank confirms."
    assert step(served, served.approver, case["id"], "hand-back", notes).status_code == 200
    waiter.join(20)
    ((took, body),) = heard
    assert took < 10  # woken by the change, not by the 30 s timeout
    assert body["state"] == "handed_back"
    assert body["answer"]["notes"] == notes


def test_an_agent_in_a_loop_cannot_flood_the_queue(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("watchkeeper.store.cases.MAX_ACTIVE_PER_AGENT", 3)
    first = [open_case(served) for _ in range(3)]
    refused = served.post("/v1/cases", served.agent_key, json=CASE)
    assert refused.status_code == 429
    assert "already has 3 cases waiting for people" in refused.json()["error"]["message"]
    # Answered cases make room again.
    step(served, served.approver, first[0]["id"], "resolve", "done by hand")
    assert served.post("/v1/cases", served.agent_key, json=CASE).status_code == 200
