"""One path for every door: the server, the CLI and the embedded SDK answer alike, pauses
included, because each calls the service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.server.conftest import serving
from watchkeeper.adapters.sdk import Watchkeeper
from watchkeeper.cli import app as cli
from watchkeeper.config import Settings
from watchkeeper.orders.loader import builtin
from watchkeeper.service import Service
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities, User
from watchkeeper.store.pauses import Pauses

AGENT, SESSION = "infra-bot", "s-1"
ACTIONS = {
    "a read": {"tool": "shell", "environment": "prod", "input": {"command": "ls /srv"}},
    "a delete": {"tool": "shell", "environment": "prod", "input": {"command": "rm -rf /srv/x"}},
    "not an action": {"tool": 5},
}
#: What each door must agree on (the rest, like the audit index, is the door's own).
AGREED = ("decision", "reasons", "rules", "action_digest", "environment", "orders_digest")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every door signs with the same key, as processes on one machine would."""
    monkeypatch.setenv("WATCHKEEPER_AUDIT_KEY", str(tmp_path / "audit.key"))
    return tmp_path


def _approver(store: Store) -> tuple[str, User]:
    ids = Identities(store)
    ids.add_user("alice@example.com", role="approver", groups=[], password="x" * 16)
    token = ids.issue_token("alice@example.com")
    user = ids.user_for(token)
    assert user is not None
    return token, user


@pytest.fixture
def paused_everything(store_url: str, home: Path) -> Iterator[str]:
    """A store with a pause on everything in force, made as a person makes it."""
    store = Store.open(store_url)
    try:
        _token, alice = _approver(store)
        Pauses(store).pause("all", "", "the database is being restored", alice)
        yield store_url
    finally:
        store.close()


def test_the_embedded_sdk_honours_a_pause_in_its_database(paused_everything: str) -> None:
    with Watchkeeper.default(db=paused_everything, agent=AGENT) as wk:
        decision = wk.check(ACTIONS["a read"])
    assert decision.decision == "deny"
    assert decision.reasons[0].startswith("paused: everything is paused by alice@example.com")
    assert decision.reasons[1].startswith("without the pause: allow")


def test_the_check_command_honours_a_pause_in_its_database(paused_everything: str) -> None:
    answer = CliRunner().invoke(
        cli, ["check", "--db", paused_everything, "--json"], input=json.dumps(ACTIONS["a read"])
    )
    assert answer.exit_code == 0, answer.output
    decision = json.loads(answer.stdout)
    assert decision["decision"] == "deny"
    assert decision["reasons"][0].startswith("paused: everything is paused")


def test_explaining_records_nothing(store_url: str, home: Path) -> None:
    with Watchkeeper.default(db=store_url, agent=AGENT) as wk:
        explanation = wk.explain(ACTIONS["a delete"])
        wk.check(ACTIONS["a delete"])  # deciding does record: two events
    assert explanation.decision.decision == "ask"
    store = Store.open(store_url)
    try:
        kinds = [leaf.kind for leaf in AuditLog(store).leaves()]
        # Outside business hours the built-in watch pack also alerts on a production change.
        assert [k for k in kinds if k != "alert"] == ["action", "decision"]
    finally:
        store.close()


def test_a_door_that_cannot_take_a_grant_opens_no_approval(store_url: str, home: Path) -> None:
    store = Store.open(store_url)
    try:
        service = Service.open(builtin(), store)
        held = service.submit(ACTIONS["a delete"], agent=AGENT, open_approval=False)
        assert held.decision.decision == "ask"
        assert held.approval_id is None
        opened = service.submit(ACTIONS["a delete"], agent=AGENT)
        assert opened.approval_id is not None
        assert [a["id"] for a in service.recent_approvals()] == [opened.approval_id]
        anonymous = service.submit(ACTIONS["a delete"])  # no agent to take it: none opened
        assert anonymous.decision.decision == "ask"
        assert anonymous.approval_id is None
    finally:
        store.close()


@pytest.mark.parametrize("pause", [None, "all", "agent", "session"])
def test_every_door_answers_alike_under_the_same_pause(
    store_url: str, home: Path, pause: str | None
) -> None:
    store = Store.open(store_url)
    try:
        agent_key = Identities(store).add_agent(AGENT)
        token, _alice = _approver(store)
        settings = Settings(audit_key=str(home / "audit.key"))
        with serving(store, settings) as base:
            if pause is not None:
                target = {"all": "", "agent": AGENT, "session": SESSION}[pause]
                made = httpx.post(
                    f"{base}/v1/pause",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"scope": pause, "target": target, "reason": "drill"},
                )
                assert made.status_code == 200, made.text
            for name, action in ACTIONS.items():
                over_http = httpx.post(
                    f"{base}/v1/actions",
                    headers={"Authorization": f"Bearer {agent_key}"},
                    json={**action, "session": SESSION},
                ).json()
                with Watchkeeper.default(db=store_url, agent=AGENT, session=SESSION) as wk:
                    embedded = wk.check(action).to_json()
                by_cli = CliRunner().invoke(
                    cli,
                    ["check", "--db", store_url, "--json"],
                    input=json.dumps({**action, "agent": AGENT, "session": SESSION}),
                )
                assert by_cli.exit_code == 0, by_cli.output
                on_the_command_line = json.loads(by_cli.stdout)
                seen = {
                    door: {k: answer.get(k) for k in AGREED}
                    for door, answer in (("http", over_http), ("sdk", embedded),
                                         ("cli", on_the_command_line))
                }  # fmt: skip
                assert seen["http"] == seen["sdk"] == seen["cli"], name
                paused = seen["http"]["reasons"][0].startswith("paused:")
                assert paused == (pause is not None), (name, seen["http"])
    finally:
        store.close()
