"""``GET /v1/charter``: what the orders let the asking agent do, for doors that offer tools."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.server.conftest import in_process
from watchkeeper.config import Settings
from watchkeeper.orders.model import StandingOrders
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities

ORDERS = """
environments: {dev: {default: allow}}
agents:
  infra-bot:
    charter: {tools: [shell, "git_*"], environments: [dev]}
"""


def test_the_charter_of_the_asking_agent_and_of_one_the_orders_do_not_name(
    store_url: str, tmp_path: Path, orders_from: Callable[[str], StandingOrders]
) -> None:
    store = Store.open(store_url)
    try:
        ids = Identities(store)
        declared, unnamed = ids.add_agent("infra-bot"), ids.add_agent("stray-bot")
        ids.add_user("alice@example.com", role="approver", groups=[], password="x" * 16)
        person = ids.issue_token("alice@example.com")
        settings = Settings(audit_key=str(tmp_path / "k"))
        with in_process(store, settings, orders_from(ORDERS)) as client:

            def asked(key: str) -> tuple[int, object]:
                answer = client.get("/v1/charter", headers={"Authorization": f"Bearer {key}"})
                return answer.status_code, answer.json()

            assert asked(declared) == (200, {"agent": "infra-bot", "declared": True,
                                             "tools": ["git_*", "shell"], "environments": ["dev"],
                                             "intents": None})  # fmt: skip
            assert asked(unnamed) == (200, {"agent": "stray-bot", "declared": False, "tools": None,
                                            "environments": None, "intents": None})  # fmt: skip
            status, body = asked(person)
            assert status in (401, 403), body
    finally:
        store.close()


def test_a_look_without_a_hold_opens_no_approval(served: Any) -> None:
    """``?hold=false``: decided and recorded, and the ``ask`` opens nothing for people."""
    from tests.server.conftest import ACTION

    looked = served.post("/v1/actions?hold=false", served.agent_key, json=ACTION)
    assert looked.status_code == 200, looked.text
    assert looked.json()["decision"] == "ask"
    assert looked.json().get("approval_id") is None
    assert isinstance(looked.json()["action_id"], int)  # recorded all the same
    pending = served.get("/v1/approvals", served.approver).json()["approvals"]
    assert pending == []
    held = served.post("/v1/actions", served.agent_key, json=ACTION).json()
    assert held["approval_id"]
    wrong = served.post("/v1/actions?hold=maybe", served.agent_key, json=ACTION)
    assert wrong.status_code == 422
    assert "hold='maybe'" in wrong.json()["error"]["message"]
