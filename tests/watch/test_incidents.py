"""Incidents: opened by a person or by a watch rule on a reported outcome, tied to the agent,
the rules and the approvers of each action; closed with a resolution; all audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.server.conftest import serving
from tests.watch.test_watching import ORDERS, Setup
from watchkeeper.cli import app
from watchkeeper.config import Settings
from watchkeeper.errors import IncidentError
from watchkeeper.orders.loader import load_text
from watchkeeper.service import Service
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities

DAMAGE = """\
watch:
  - name: damage-reported
    on: outcome
    scope: agent
    cooldown: 1s
    when: >-
      event.released &&
      (event.outcome == 'reverted' || (event.outcome == 'failed' && event.irreversible))
    severity: medium
    incident: true
"""


@pytest.fixture
def w(store_url: str, tmp_path: Path) -> Iterator[Setup]:
    store = Store.open(store_url)
    service = Service.open(load_text(ORDERS + DAMAGE), store,
                           Settings(audit_key=str(tmp_path / "k")))  # fmt: skip
    try:
        yield Setup(service, store)
    finally:
        service.close()
        store.close()


def test_an_incident_debits_the_agent_the_rules_and_the_approvers(w: Setup) -> None:
    alice, bob = w.person("alice@example.com"), w.person("bob@example.com")
    allowed = w.shell("echo hi")
    edit = {"tool": "Edit", "input": {"file_path": "/srv/prod/app.conf"}}
    asked = w.service.submit(edit, agent="infra-bot", session="s1")
    assert asked.approval_id is not None
    w.service.vote(asked.approval_id, alice, "approve")
    opened = w.service.open_incident([asked.action_id, allowed.action_id], "high",
                                     "the config change took the site down", bob)  # fmt: skip
    assert opened["state"] == "open"
    assert opened["opened_by"] == "bob@example.com"
    assert opened["actions"] == [
        {"action_index": allowed.action_id, "agent": "infra-bot", "decision": "allow",
         "rules": [], "approvers": []},
        {"action_index": asked.action_id, "agent": "infra-bot", "decision": "ask",
         "rules": ["prod-edits-ask"], "approvers": ["alice@example.com"]},
    ]  # fmt: skip
    (event,) = w.events("incident_opened")
    assert event["rules"] == ["prod-edits-ask"]
    assert event["approvers"] == ["alice@example.com"]
    assert event["agents"] == ["infra-bot"]
    closed = w.service.close_incident(opened["id"], "rolled back the config", alice)
    assert closed["state"] == "closed"
    assert closed["resolution"] == "rolled back the config"
    with pytest.raises(IncidentError, match="already closed"):
        w.service.close_incident(opened["id"], "again", alice)
    assert [e["incident"] for e in w.events("incident_closed")] == [opened["id"]]


def test_what_is_not_an_action_is_refused_by_name(w: Setup) -> None:
    bob = w.person("bob@example.com")
    done = w.shell("echo hi")
    with pytest.raises(IncidentError, match=f"no action at audit index {done.action_id + 1}"):
        w.service.open_incident([done.action_id + 1], "low", "x", bob)
    with pytest.raises(IncidentError, match="severity 'dire' is not one of low, medium"):
        w.service.open_incident([done.action_id], "dire", "x", bob)
    with pytest.raises(IncidentError, match="say what happened"):
        w.service.open_incident([done.action_id], "low", "  ", bob)
    assert w.events("incident_opened") == []


def test_a_reverted_outcome_opens_an_incident_by_rule(w: Setup) -> None:
    done = w.shell("echo hi")
    w.service.outcome(done.action_id, "infra-bot", "succeeded")
    assert w.service.recent_incidents() == []
    w.service.outcome(done.action_id, "infra-bot", "reverted", "undone by hand")
    w.service.outcome(done.action_id, "infra-bot", "reverted", "said again")
    (incident,) = w.service.recent_incidents()  # one action, one incident
    assert incident["opened_by"] == "watch:damage-reported"
    assert [a["action_index"] for a in incident["actions"]] == [done.action_id]
    alerts = w.events("alert")
    assert {a["incident"] for a in alerts} == {incident["id"]}
    assert alerts[0]["on"] == "outcome"
    denied = w.shell("rm -rf /srv/prod/data")
    w.service.outcome(denied.action_id, "infra-bot", "reverted")  # it was never let run
    assert len(w.service.recent_incidents()) == 1


def test_action_ids_out_of_range_are_refused(w: Setup) -> None:
    bob = w.person("bob@example.com")
    for wrong in (-1, 2**63 - 1, 2**64):
        with pytest.raises(IncidentError, match="an action id is an audit index"):
            w.service.open_incident([wrong], "low", "x", bob)


def test_incidents_over_the_api_and_the_cli(store_url: str, tmp_path: Path) -> None:
    store = Store.open(store_url)
    ids = Identities(store)
    key = ids.add_agent("infra-bot")
    ids.add_user("alice@example.com", role="approver", groups=[], password="x" * 16)
    ids.add_user("viewer@example.com", role="auditor", groups=[], password="x" * 16)
    token, auditor = ids.issue_token("alice@example.com"), ids.issue_token("viewer@example.com")
    settings = Settings(audit_key=str(tmp_path / "k"))
    try:
        with serving(store, settings, load_text(ORDERS + DAMAGE)) as base:
            action = {"tool": "shell", "input": {"command": "echo hi"}}
            done = httpx.post(base + "/v1/actions", json=action,
                              headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
            as_agent = httpx.post(base + "/v1/incidents", json={"actions": [done["action_id"]]},
                                  headers={"Authorization": f"Bearer {key}"})  # fmt: skip
            assert as_agent.status_code in (401, 403)
            wrong = httpx.post(base + "/v1/incidents", json={"actions": "412"},
                               headers={"Authorization": f"Bearer {auditor}"})  # fmt: skip
            assert wrong.status_code == 422
            assert "actions must be a list of action ids" in wrong.json()["error"]["message"]
            env = {"WATCHKEEPER_SERVER": base, "WATCHKEEPER_TOKEN": auditor}
            run = CliRunner()
            opened = run.invoke(app, ["incident", "open", "--action", str(done["action_id"]),
                                      "--severity", "high", "--summary", "site down", "--json"],
                                env=env)  # fmt: skip
            assert opened.exit_code == 0, opened.output
            incident = json.loads(opened.stdout)["id"]
            listed = run.invoke(app, ["incident", "list"], env=env)
            assert incident in listed.output
            shown = run.invoke(app, ["incident", "show", incident[:8]], env=env)
            assert f"action {done['action_id']}: infra-bot, allow" in shown.output
            refused = run.invoke(app, ["incident", "close", incident[:8], "--resolution", "x"],
                                 env=env)  # fmt: skip
            assert refused.exit_code == 1  # an auditor reports; approvers and admins close
            env["WATCHKEEPER_TOKEN"] = token
            closed = run.invoke(app, ["incident", "close", incident[:8], "--resolution",
                                      "restored"], env=env)  # fmt: skip
            assert closed.exit_code == 0, closed.output
            assert f"closed: incident {incident}" in closed.output
    finally:
        store.close()
