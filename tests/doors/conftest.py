"""A real server for the doors' tests: an agent ``coder``, an approver in group ``sre`` (alice)
and an auditor; production deletes need the group."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import serving
from watchkeeper.config import Settings
from watchkeeper.orders.model import StandingOrders
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities

ORDERS = """
environments: {prod: {default: allow}}
groups:
  sre: [alice@example.com]
rules:
  - name: prod-deletes-need-sre
    match: {environment: prod, verb: delete}
    decision: ask
    approvers: {group: sre, quorum: 1}
    instructions: Snapshot first.
  - name: prod-truncates-need-sre-soon
    match: {environment: prod, tool: shell}
    when: "action.input.command.startsWith('truncate ')"
    decision: ask
    approvers: {group: sre, quorum: 1}
    timeout: 2s
  - name: explodes-on-purpose
    match: {tool: shell}
    when: "action.input.command.startsWith('explode') && int('not a number') > 0"
    decision: allow
  - name: no-obfuscated-execution
    when: "effects.exists(e, 'obfuscated' in e.flags)"
    decision: deny
    reason: What runs is not what reads.
"""


@pytest.fixture
def server(
    store_url: str, tmp_path: Path, orders_from: Callable[[str], StandingOrders]
) -> Iterator[tuple[str, dict[str, str], str]]:
    store = Store.open(store_url)
    ids = Identities(store)
    key = ids.add_agent("coder")
    ids.add_user("alice@example.com", role="approver", groups=["sre"], password="x" * 16)
    alice = ids.issue_token("alice@example.com")
    ids.add_user("audit@example.com", role="auditor", groups=[], password="x" * 16)
    env = {"AUDITOR": ids.issue_token("audit@example.com"), "WATCHKEEPER_SERVER": "",
           "WATCHKEEPER_TOKEN": key, "XDG_STATE_HOME": str(tmp_path / "state")}  # fmt: skip
    try:
        with serving(store, Settings(audit_key=str(tmp_path / "k")), orders_from(ORDERS)) as base:
            env["WATCHKEEPER_SERVER"] = base
            yield base, env, alice
    finally:
        store.close()


def pause_everything(url: str) -> None:
    """A pause of everything in the database at ``url``, by an approver made for it."""
    from watchkeeper.store.pauses import Pauses

    store = Store.open(url)
    try:
        ids = Identities(store)
        ids.add_user("alice@example.com", role="approver", groups=[], password="x" * 16)
        alice = ids.user_for(ids.issue_token("alice@example.com"))
        assert alice is not None
        Pauses(store).pause("all", "", "the database is being restored", alice)
    finally:
        store.close()


def held_for(reason: str) -> str:
    """The approval a door's answer says the call is held for."""
    return reason.split("eld for approval ")[1].split(":")[0]  # Held, or Still held


def cast(base: str, token: str, approval: str, vote: str, comment: str = "") -> dict[str, Any]:
    """A person's vote on ``approval``, over HTTP; the approval as it stands after it."""
    answer = httpx.post(f"{base}/v1/approvals/{approval}/votes", timeout=10,
                        json={"vote": vote, "comment": comment},
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    answer.raise_for_status()
    view: dict[str, Any] = answer.json()
    return view


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The conformance table through a warm decider runs on SQLite only: the decider is the
    door's own code, the same whatever database the server behind it uses, and each store is
    already covered by the in-process runs. (Reported as deselected.)"""
    kept, dropped = [], []
    for item in items:
        spec = getattr(item, "callspec", None)
        warm_on_postgres = (
            spec is not None
            and spec.params.get("mode") == "warm"
            and (spec.params.get("store_url") == "postgresql")
        )
        (dropped if warm_on_postgres else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
