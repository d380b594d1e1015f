"""Who may approve is said in one place: the standing orders' groups. A group stored with an
account grants nothing the orders do not; the commands refuse or warn about what contradicts
them, and show who answers for what."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.server.conftest import ACTION, serving
from watchkeeper.cli import app
from watchkeeper.config import Settings
from watchkeeper.errors import UsageError
from watchkeeper.membership import check_new, effective, findings
from watchkeeper.orders.model import StandingOrders
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities

ORDERS = """
environments: {prod: {default: ask}}
groups:
  sre: [alice@example.com, Bob@example.com]
rules:
  - name: prod-deletes-need-sre
    match: {environment: prod, verb: delete}
    decision: ask
    approvers: {group: sre, quorum: 1}
"""


@pytest.fixture
def orders(orders_from: Callable[[str], StandingOrders]) -> StandingOrders:
    return orders_from(ORDERS)


@pytest.fixture
def server(
    store_url: str, tmp_path: Path, orders: StandingOrders
) -> Iterator[tuple[str, str, dict[str, str]]]:
    store = Store.open(store_url)
    ids = Identities(store)
    key = ids.add_agent("infra-bot")
    # carol's account claims sre, which the orders list without her; bob's claims nothing.
    ids.add_user("carol@example.com", role="approver", groups=["sre"], password="x" * 16)
    ids.add_user("bob@example.com", role="approver", groups=[], password="x" * 16)
    tokens = {e: ids.issue_token(e) for e in ("carol@example.com", "bob@example.com")}
    try:
        with serving(store, Settings(audit_key=str(tmp_path / "k")), orders) as base:
            yield base, key, tokens
    finally:
        store.close()


def test_a_group_stored_with_an_account_grants_nothing_the_orders_do_not(
    server: tuple[str, str, dict[str, str]],
) -> None:
    base, key, tokens = server
    asked = httpx.post(base + "/v1/actions", json=ACTION, timeout=10,
                       headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
    approval = asked["approval_id"]

    def vote(email: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tokens[email]}"}
        return httpx.post(f"{base}/v1/approvals/{approval}/votes", json={"vote": "approve"},
                          headers=headers, timeout=10)  # fmt: skip

    refused = vote("carol@example.com")
    assert refused.status_code == 403, refused.text
    message = refused.json()["error"]["message"]
    assert "it needs 1 of group sre" in message
    assert "the standing orders put you in no group" in message
    # bob is listed by the orders (in any letter case): he answers without a stored group.
    assert vote("bob@example.com").json()["state"] == "approved"


def test_membership_comes_from_the_orders() -> None:
    groups = {"sre": ("alice@example.com", "Bob@example.com")}
    assert effective("bob@example.com", groups) == ["sre"]
    assert effective("carol@example.com", groups) == []
    with pytest.raises(UsageError, match=r"define group 'sre' as alice@example\.com, bob@"):
        check_new("carol@example.com", ["sre"], groups)
    assert check_new("bob@example.com", ["sre"], groups) == []
    (warning,) = check_new("carol@example.com", ["dba"], groups)
    assert (
        "group 'dba' is not in the standing orders: it grants carol@example.com nothing" in warning
    )
    found = findings({"carol@example.com": ["sre", "dba"], "bob@example.com": []}, groups)
    assert found == [
        "carol@example.com is stored in group 'dba', which the standing orders do not define: "
        "it grants nothing",
        "carol@example.com is stored in group 'sre', but the standing orders list sre without "
        "them: they do not answer for it",
        "group 'sre' lists alice@example.com, who has no account: they cannot vote until "
        "`watchkeeper users add alice@example.com`",
    ]


def test_the_commands_refuse_contradictions_and_show_effective_groups(
    tmp_path: Path, write_orders: Callable[..., Path]
) -> None:
    orders = write_orders(ORDERS)
    env = {"WATCHKEEPER_DB": f"sqlite:///{tmp_path / 'db'}", "WATCHKEEPER_ORDERS": str(orders)}
    runner = CliRunner()
    refused = runner.invoke(app, ["users", "add", "carol@example.com", "-g", "sre"], env=env)
    assert refused.exit_code == 2, refused.output
    assert "add carol@example.com under groups.sre there" in refused.output
    warned = runner.invoke(app, ["users", "add", "dana@example.com", "-g", "dba"], env=env)
    assert warned.exit_code == 0, warned.output
    assert "WARNING: group 'dba' is not in the standing orders" in warned.output
    added = runner.invoke(app, ["users", "add", "bob@example.com"], env=env)
    assert "in the standing orders' groups: sre" in added.output
    listed = runner.invoke(app, ["users", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "bob@example.com\tapprover\tgroups: sre\t0 tokens\tactive" in listed.output
    assert "dana@example.com\tapprover\tgroups: -" in listed.output
    assert "WARNING: dana@example.com is stored in group 'dba'" in listed.output
    shown = json.loads(runner.invoke(app, ["users", "list", "--json"], env=env).stdout)
    bob = next(u for u in shown["users"] if u["email"] == "bob@example.com")
    assert (bob["groups"], bob["stored_groups"]) == (["sre"], [])
    linted = runner.invoke(app, ["lint", str(orders), "--db", env["WATCHKEEPER_DB"]], env=env)
    assert linted.exit_code == 0, linted.output
    assert "warning: dana@example.com is stored in group 'dba'" in linted.output
    assert "warning: group 'sre' lists alice@example.com, who has no account" in linted.output
