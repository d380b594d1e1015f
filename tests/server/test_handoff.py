"""People see what they are asked to approve: the action as the log recorded it, the reasons,
the instructions and the effects; the agent that asked sees only its own answer."""

from __future__ import annotations

from tests.server.conftest import ACTION, Served
from tests.server.test_approvals import ask


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
