"""Scorecards on a fixed history of 10,000 actions written to the real audit log, against
figures computed by hand from the script that wrote it; and over the API and the CLI."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.server.conftest import serving
from watchkeeper.cli import app
from watchkeeper.config import Settings
from watchkeeper.orders.loader import load_text
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities
from watchkeeper.store.scorecards import DEFAULT, Scorecards

N = 10_000
START = 1_780_000_000.0
ORDERS = """\
environments: {prod: {default: allow}}
rules:
  - {name: reads, decision: allow, match: {verb: read}}
  - {name: prod-asks, decision: ask}
  - {name: stamped, decision: ask, match: {tool: deploy}}
  - {name: no-deletes, decision: deny, match: {verb: delete}}
  - {name: no-flags, decision: deny, match: {tool: flagged}}
  - {name: unused, decision: deny, match: {tool: never-called}}
"""


def at(seconds: float) -> str:
    return datetime.fromtimestamp(START + seconds, UTC).isoformat(timespec="microseconds")


def decision_of(i: int) -> tuple[str, list[str]]:
    """The script: which decision and rules action ``i`` gets."""
    r = i % 10
    if r <= 5:
        return "allow", (["reads"] if i % 2 == 0 else [])
    if r == 6:
        return "ask", ["prod-asks", "stamped"]
    if r in (7, 8):
        return "ask", ["prod-asks"]
    return "deny", (["no-deletes", "no-flags"] if i % 20 == 9 else ["no-deletes"])


def history() -> list[dict[str, Any]]:
    """The events, in log order (index = position)."""
    events: list[dict[str, Any]] = []
    index_of: dict[int, int] = {}
    for i in range(N):
        t = i * 10.0
        decision, rules = decision_of(i)
        index_of[i] = len(events)
        events.append(
            {
                "kind": "action",
                "time": at(t),
                "action": {"tool": "shell", "agent": f"agent-{i % 7}", "input": {}},
            }
        )
        events.append({"kind": "decision", "time": at(t),
                       "decision": {"decision": decision, "rules": rules}})  # fmt: skip
        if decision == "ask":
            approval = f"ap{i}"
            events.append({"kind": "approval_requested", "time": at(t + 0.5),
                           "approval": approval, "agent": f"agent-{i % 7}",
                           "action_index": index_of[i]})  # fmt: skip
            r = i % 10
            if r == 6:
                events.append({"kind": "vote", "time": at(t + 3.5), "approval": approval,
                               "email": "bob@example.com", "vote": "approve",
                               "break_glass": False, "state": "approved"})  # fmt: skip
            elif r == 7:
                events.append({"kind": "vote", "time": at(t + 40.5), "approval": approval,
                               "email": "alice@example.com", "vote": "approve",
                               "break_glass": i % 30 == 7, "state": "approved"})  # fmt: skip
            elif i % 20 == 8:
                events.append({"kind": "vote", "time": at(t + 20.5), "approval": approval,
                               "email": "carol@example.com", "vote": "deny",
                               "break_glass": False, "state": "denied"})  # fmt: skip
            else:
                events.append({"kind": "approval_expired", "time": at(t + 3600.5),
                               "approval": approval})  # fmt: skip
        if decision == "allow" and i % 50 == 0:
            events.append({"kind": "outcome", "time": at(t + 1), "action_index": index_of[i],
                           "status": "failed"})  # fmt: skip
        if decision == "allow" and i % 50 == 2:
            for status in ("succeeded", "reverted"):
                events.append({"kind": "outcome", "time": at(t + 1),
                               "action_index": index_of[i], "status": status})  # fmt: skip
    events.append({"kind": "incident_opened", "time": at(N * 10.0), "incident": "inc-1",
                   "actions": [index_of[0], index_of[16], index_of[27]]})  # fmt: skip
    return events


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The history on SQLite, written once for this module's tests."""
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('cards') / 'wk.db'}")
    with store.writing() as conn:
        AuditLog(store).append_in(conn, history())
    yield store
    store.close()


def cards(store: Store, by: str, **options: Any) -> dict[str, dict[str, Any]]:
    found = Scorecards(store, load_text(ORDERS)).compute(by, **options)
    return {c["name"]: c for c in found["scorecards"]}


def test_agents_match_the_figures_worked_out_by_hand(written: Store) -> None:
    got = cards(written, "agent")
    assert sorted(got) == [f"agent-{k}" for k in range(7)]
    for k in range(7):
        mine = [i for i in range(N) if i % 7 == k]
        allowed = [i for i in mine if i % 10 <= 5]
        asked = [i for i in mine if i % 10 in (6, 7, 8)]
        approved = [i for i in mine if i % 10 in (6, 7)]
        rejected = [i for i in mine if i % 10 == 8 and i % 20 == 8]
        expired = [i for i in mine if i % 10 == 8 and i % 20 != 8]
        times = [3.0 if i % 10 == 6 else 40.0 for i in approved] + [20.0 for _ in rejected]
        ordered = sorted(times)
        card = got[f"agent-{k}"]
        assert card["actions"] == len(mine)
        assert card["allowed"] == len(allowed)
        assert card["asked"] == len(asked)
        assert card["denied"] == len(mine) - len(allowed) - len(asked)
        assert card["autonomy"] == round(len(allowed) / len(mine), 4)
        assert card["ask_rate"] == round(len(asked) / len(mine), 4)
        assert (card["approved"], card["rejected"], card["expired"]) == (
            len(approved), len(rejected), len(expired),
        )  # fmt: skip
        decided = len(approved) + len(rejected) + len(expired)
        assert card["approval_rate"] == round(len(approved) / decided, 4)
        assert card["decision_median_s"] == pytest.approx(statistics.median(times), abs=1e-3)
        assert card["decision_p90_s"] == pytest.approx(
            ordered[-(-9 * len(ordered) // 10) - 1], abs=1e-3
        )
        stamps = len([i for i in approved if i % 10 == 6])
        assert card["rubber_stamp_rate"] == round(stamps / len(approved), 4)
        assert card["overrides"] == len([i for i in approved if i % 10 == 7 and i % 30 == 7])
        assert card["outcomes"] == {
            "succeeded": 0,
            "failed": len([i for i in allowed if i % 50 == 0]),
            "reverted": len([i for i in allowed if i % 50 == 2]),
            "unknown": 0,
        }
        incidents = 1 if k in {0 % 7, 16 % 7, 27 % 7} else 0
        assert card["incidents"] == incidents
        assert card["incidents_per_1000"] == round(1000 * incidents / len(mine), 3)


def test_rules_match_the_figures_worked_out_by_hand(written: Store) -> None:
    got = cards(written, "rule")
    assert got["reads"]["actions"] == len([i for i in range(N) if i % 10 <= 5 and i % 2 == 0])
    assert got[DEFAULT]["actions"] == len([i for i in range(N) if i % 10 <= 5 and i % 2])
    assert got["prod-asks"]["actions"] == len([i for i in range(N) if i % 10 in (6, 7, 8)])
    assert got["stamped"]["approval_rate"] == 1.0
    assert got["stamped"]["decision_median_s"] == pytest.approx(3.0, abs=1e-3)
    assert got["no-flags"]["actions"] == len([i for i in range(N) if i % 20 == 9])
    assert got["no-deletes"]["denied"] == len([i for i in range(N) if i % 10 == 9])
    assert got["unused"]["actions"] == 0
    assert got["prod-asks"]["incidents"] == 1  # actions 16 and 27 were asked
    suggestions = Scorecards(written, load_text(ORDERS)).compute("rule")["suggestions"]
    kinds = {(s["kind"], s.get("rule") or s.get("action")) for s in suggestions}
    assert ("always_approved", "stamped") in kinds
    assert ("never_matched", "unused") in kinds
    assert ("allowed_then_incident", 0) in kinds  # action 0 was allowed, then tied to inc-1
    assert not any(s.get("rule") == "prod-asks" and s["kind"] == "always_approved"
                   for s in suggestions)  # fmt: skip


def test_approvers_match_the_figures_worked_out_by_hand(written: Store) -> None:
    got = cards(written, "approver", rubber_stamp=5.0)
    bob, alice, carol = got["bob@example.com"], got["alice@example.com"], got["carol@example.com"]
    assert bob["actions"] == bob["approved"] == len([i for i in range(N) if i % 10 == 6])
    assert bob["rubber_stamp_rate"] == 1.0
    assert bob["decision_median_s"] == pytest.approx(3.0, abs=1e-3)
    assert alice["rubber_stamp_rate"] == 0.0
    assert alice["overrides"] == len([i for i in range(N) if i % 10 == 7 and i % 30 == 7])
    assert (carol["approved"], carol["rejected"]) == (0, len([i for i in range(N)
                                                              if i % 20 == 8]))  # fmt: skip
    assert bob["incidents"] == 1
    assert alice["incidents"] == 1
    assert carol["incidents"] == 0
    assert bob["autonomy"] is None  # an approver acts on nothing by themselves


def test_a_period_counts_only_what_happened_in_it(written: Store) -> None:
    # The last 1,000 actions' times, and nothing before: since START + 9000 × 10 s.
    got = cards(written, "agent", since=START + 9000 * 10.0)
    assert sum(c["actions"] for c in got.values()) == 1000


def test_scorecards_over_the_api_and_the_cli(store_url: str, tmp_path: Path) -> None:
    store = Store.open(store_url)
    try:
        with store.writing() as conn:
            AuditLog(store).append_in(conn, history()[:400])
        ids = Identities(store)
        ids.add_user("alice@example.com", role="auditor", groups=[], password="x" * 16)
        env = {"WATCHKEEPER_TOKEN": ids.issue_token("alice@example.com")}
        settings = Settings(audit_key=str(tmp_path / "k"))
        with serving(store, settings, load_text(ORDERS)) as base:
            env["WATCHKEEPER_SERVER"] = base
            run = CliRunner()
            # The history is dated 2026-05-28: far more than 30 days before the tests run.
            shown = run.invoke(app, ["scorecard", "--since", "3650d", "--json"], env=env)
            assert shown.exit_code == 0, shown.output
            body = json.loads(shown.stdout)
            part = history()[:400]  # an action cut from its decision is not scored
            decided = [n for n, e in enumerate(part[:-1])
                       if e["kind"] == "action" and part[n + 1]["kind"] == "decision"]  # fmt: skip
            assert sum(c["actions"] for c in body["scorecards"]) == len(decided)
            one = run.invoke(app, ["scorecard", "--rule", "stamped", "--since", "3650d"], env=env)
            assert one.exit_code == 0, one.output
            assert "stamped" in one.output
            bad = run.invoke(app, ["scorecard", "--since", "a while"], env=env)
            assert bad.exit_code == 1
            assert "write durations like 30d" in bad.output
            both = run.invoke(app, ["scorecard", "--agent", "a", "--rule", "b"], env=env)
            assert both.exit_code == 2
    finally:
        store.close()
