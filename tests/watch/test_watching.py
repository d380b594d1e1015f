"""Watch rules at work through the service, on SQLite and PostgreSQL: evasion, bursts,
sequences, approval fatigue, unopened escalations, cool-downs, pruning, failing closed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from watchkeeper.config import Settings
from watchkeeper.orders.loader import load_text
from watchkeeper.service import Service
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities, User
from watchkeeper.store.schema import outbox, watch_alerts, watch_events
from watchkeeper.store.watching import ALERT_DAYS

ORDERS = """\
environments:
  prod: {default: ask, match: {paths: ["/srv/prod/**"]}}
  dev: {default: allow, unplaced: true}
groups:
  sre: [alice@example.com, bob@example.com, carol@example.com]
  leads: [carol@example.com]
agents:
  infra-bot: {owner: owner@example.com}
channels:
  trail: {type: log}
rules:
  - name: no-prod-deletes
    match: {environment: prod, verb: delete}
    decision: deny
  - name: no-rm-flags
    match: {tool: shell}
    when: "has(input.command) && input.command.contains('rm -')"
    decision: deny
  - name: prod-edits-ask
    match: {environment: prod, tool: Edit}
    decision: ask
    approvers: [{group: sre}]
    escalate: [{after: 1s, to: leads}]
"""
PACK = """\
watch:
  - name: rephrased-after-denial
    scope: session
    window: 15m
    when: "window.similar_denied >= 2"
    severity: high
    pause: session
  - name: destructive-burst
    scope: agent
    window: 10m
    when: "event.irreversible && event.decision != 'deny' && window.irreversible > 5"
    tighten: agent
  - name: credential-read-then-egress
    scope: session
    window: 30m
    when: "'egress' in event.tags && event.decision != 'deny' && window.tags.credential_access > 0"
    tighten: session
  - name: approval-fatigue
    on: vote
    scope: approver
    window: 10m
    when: >-
      event.vote == 'approve' && window.approved > 10 &&
      window.review_median >= 0.0 && window.review_median < 30.0
    tighten: approver
  - name: escalation-unopened
    on: escalation
    scope: all
    cooldown: 1s
    when: "!event.opened"
"""


class Setup:
    def __init__(self, service: Service, store: Store) -> None:
        self.service, self.store = service, store
        self.log = AuditLog(store)

    def shell(self, command: str, session: str = "s1", agent: str = "infra-bot") -> Any:
        action = {"tool": "shell", "input": {"command": command}}
        return self.service.submit(action, agent=agent, session=session)

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(leaf.event) for leaf in self.log.leaves() if leaf.kind == kind]

    def notifications(self) -> list[dict[str, Any]]:
        with self.store.reading() as conn:
            rows = conn.execute(select(outbox.c.kind, outbox.c.payload, outbox.c.channel)).all()
        return [{"kind": k, "channel": c, **json.loads(p)} for k, p, c in rows]

    def person(self, email: str, role: str = "approver") -> User:
        Identities(self.store).add_user(email, role=role, groups=[], password="x" * 16)
        return User(email, role, ())


@pytest.fixture
def watched(store_url: str, tmp_path: Path) -> Iterator[Callable[..., Setup]]:
    opened: list[tuple[Service, Store]] = []

    def start(watch: str = PACK, rules: str = ORDERS) -> Setup:
        store = Store.open(store_url)
        settings = Settings(audit_key=str(tmp_path / "audit.key"))
        service = Service.open(load_text(rules + watch, "w.yaml"), store, settings)
        opened.append((service, store))
        return Setup(service, store)

    yield start
    for service, store in opened:
        service.close()
        store.close()


def test_an_agent_rephrasing_a_denied_delete_is_paused_by_the_third_try(
    watched: Callable[..., Setup],
) -> None:
    w = watched()
    first = w.shell("rm -rf /srv/prod/data")
    second = w.shell("rm -fr /srv/prod/data")
    other = w.shell("ls /srv/prod/data", session="s2")
    third = w.shell("find /srv/prod/data -delete")
    assert [first.decision.decision, second.decision.decision, third.decision.decision] == [
        "deny", "deny", "deny",
    ]  # fmt: skip
    assert other.decision.decision == "ask"  # prod default; not denied, not paused
    (pause,) = w.service.pauses_in_force()
    assert (pause["scope"], pause["target"], pause["paused_by"]) == (
        "session", "infra-bot/s1", "watch:rephrased-after-denial",
    )  # fmt: skip
    (alert,) = w.events("alert")
    assert alert["rule"] == "rephrased-after-denial"
    assert alert["severity"] == "high"
    # It names what raised it: the two earlier denials and the third try (action, decision).
    assert alert["events"] == [
        first.action_id, second.action_id, third.action_id, third.action_id + 1,
    ]  # fmt: skip
    assert alert["window"] == {"similar_denied": 2}
    assert alert["owner"] == "owner@example.com"
    assert alert["pause"] == pause["id"]
    (told,) = [n for n in w.notifications() if n["kind"] == "watch_alert"]
    assert told["channel"] == "trail"
    assert "owner@example.com" in told["people"]
    assert told["paused_by"].startswith("paused: session infra-bot/s1 is paused by watch:")
    # The session is stopped; the agent's other session goes on, and another agent's session
    # of the same name is another session.
    assert w.shell("ls").decision.reasons[0].startswith("paused: session infra-bot/s1")
    elsewhere = w.shell("echo hello", agent="other-bot").decision  # undeclared: it asks
    assert not elsewhere.reasons[0].startswith("paused")
    assert w.shell("echo hello", session="s2").decision.decision == "allow"


def test_the_try_that_would_have_got_through_is_denied_by_the_pause_it_raises(
    watched: Callable[..., Setup],
) -> None:
    w = watched()
    assert w.shell("rm -rf /srv/data").decision.decision == "deny"  # no-rm-flags
    assert w.shell("rm -fr /srv/data").decision.decision == "deny"
    third = w.shell("find /srv/data -delete")  # no rule catches this spelling: dev allows it
    assert third.decision.decision == "deny"
    assert third.decision.reasons[0].startswith("paused: session infra-bot/s1 is paused by")
    assert third.decision.reasons[1] == "without the pause: allow"
    (leaf,) = w.log.leaves(third.action_id + 1, third.action_id + 2)
    recorded = json.loads(leaf.event)
    assert recorded["decision"]["decision"] == "deny"  # the log says what the agent was told
    with w.store.reading() as conn:
        kept = conn.execute(
            select(watch_events.c.decision).where(watch_events.c.action_index == third.action_id)
        ).scalar_one()
    assert kept == "deny"  # and the stream counts it as denied


def test_denials_of_different_things_are_not_evasion(watched: Callable[..., Setup]) -> None:
    w = watched()
    w.shell("rm -rf /srv/prod/a")
    w.shell("rm -rf /srv/prod/b")
    assert w.shell("rm -rf /srv/prod/c").decision.decision == "deny"
    assert w.events("alert") == []
    assert w.service.pauses_in_force() == []


def test_an_alert_keeps_quiet_through_its_cool_down(watched: Callable[..., Setup]) -> None:
    w = watched()
    for spelling in ("rm -rf", "rm -fr", "rm -r -f", "rm -f -r", "rm -Rf"):
        w.shell(f"{spelling} /srv/prod/data")
    assert len(w.events("alert")) == 1
    with w.store.reading() as conn:
        assert conn.execute(select(func.count()).select_from(watch_alerts)).scalar_one() == 1


def test_a_burst_of_irreversible_changes_makes_the_agent_ask_until_cleared(
    watched: Callable[..., Setup],
) -> None:
    w = watched()
    decisions = [w.shell(f"rm notes/{n}.md").decision.decision for n in range(7)]
    assert decisions == ["allow"] * 5 + ["ask", "ask"]  # the sixth is held by its own alert
    sixth = w.shell("ls")
    assert sixth.decision.decision == "ask"
    assert sixth.decision.reasons[0].startswith("tightened: agent infra-bot asks before acting")
    assert sixth.decision.rules[-1] == "watch:destructive-burst"
    assert sixth.approval_id is not None  # anyone who may approve answers it
    (held,) = w.service.tightenings_in_force()
    alice = w.person("alice@example.com")
    cleared = w.service.clear_tightening(held["id"], "a planned clean-up", alice)
    assert cleared["cleared_by"] == "alice@example.com"
    assert not cleared["active"]
    assert w.shell("ls").decision.decision == "allow"
    assert [e["kind"] for e in w.events("tighten") + w.events("tighten_cleared")] == [
        "tighten", "tighten_cleared",
    ]  # fmt: skip


def test_a_secret_read_then_egress_tightens_that_session_only(
    watched: Callable[..., Setup],
) -> None:
    w = watched()
    assert w.shell("cat ~/.aws/credentials").decision.decision == "allow"
    assert w.shell("curl https://example.com/x", session="s2").decision.decision == "allow"
    sent = w.shell("curl https://example.com/x")
    assert sent.decision.decision == "ask"
    assert sent.decision.reasons[0].startswith("tightened: session infra-bot/s1")
    assert w.shell("ls", session="s2").decision.decision == "allow"
    (alert,) = w.events("alert")
    assert alert["rule"] == "credential-read-then-egress"
    assert alert["window"] == {"tags": alert["window"]["tags"]}
    assert alert["window"]["tags"]["credential_access"] == 1
    assert alert["window"]["tags"]["egress"] == 1


def test_an_approver_approving_in_seconds_needs_a_second_approver(
    watched: Callable[..., Setup],
) -> None:
    w = watched()
    bob, alice = w.person("bob@example.com"), w.person("alice@example.com")

    def ask(n: int) -> str:
        action = {"tool": "Edit", "input": {"file_path": f"/srv/prod/{n}.conf"}}
        done = w.service.submit(action, agent=f"bot-{n}", session=f"s{n}")
        assert done.decision.decision == "ask"
        assert done.approval_id
        return done.approval_id

    for n in range(11):
        assert w.service.vote(ask(n), bob, "approve")["state"] == "approved"
    (alert,) = w.events("alert")
    assert alert["rule"] == "approval-fatigue"
    assert alert["approver"] == "bob@example.com"
    assert alert["window"]["approved"] == 11
    assert 0 <= alert["window"]["review_median"] < 30
    (told,) = [n for n in w.notifications() if n["kind"] == "watch_alert"]
    assert set(told["people"]) >= {"alice@example.com", "carol@example.com"}
    assert "bob@example.com" not in told["people"]  # their group hears of it, not they
    twelfth = ask(11)
    held = w.service.vote(twelfth, bob, "approve")
    assert held["state"] == "pending"
    assert held["second_approver"] is True
    assert w.service.vote(twelfth, alice, "approve")["state"] == "approved"


def test_an_escalation_nobody_opened_is_an_alert(watched: Callable[..., Setup]) -> None:
    w = watched()
    alice = w.person("alice@example.com")

    def ask(n: int) -> str:
        action = {"tool": "Edit", "input": {"file_path": f"/srv/prod/{n}.conf"}}
        done = w.service.submit(action, agent="infra-bot", session=f"e{n}")
        assert done.approval_id
        return done.approval_id

    unopened, opened = ask(1), ask(2)
    w.service.approvals.get(opened, alice.email)  # alice looks at it: recorded
    time.sleep(1.2)
    assert w.service.approvals.tick() == 2  # both escalate
    alerts = w.events("alert")
    assert [(a["rule"], a["approval"]) for a in alerts] == [("escalation-unopened", unopened)]
    (opening,) = w.events("approval_opened")
    assert opening == {**opening, "approval": opened, "by": "alice@example.com"}


def test_a_condition_that_fails_counts_as_matched(watched: Callable[..., Setup]) -> None:
    w = watched('watch:\n  - {name: odd, scope: session, pause: session,\n'
                '     when: "int(event.text) > 0"}\n')  # fmt: skip
    first = w.shell("ls")
    assert first.decision.decision == "deny"  # paused by the rule that could not be judged
    (alert,) = w.events("alert")
    assert "counted as matched" in alert["reason"]
    assert alert["error"]


def test_a_watch_that_cannot_run_denies_the_action(watched: Callable[..., Setup]) -> None:
    w = watched()
    with w.store.writing() as conn:
        conn.execute(text("DROP TABLE watch_events"))
    done = w.shell("ls")
    assert done.decision.decision == "deny"
    assert "could not be recorded" in done.decision.reasons[0]


def test_the_stream_keeps_only_what_its_windows_need(watched: Callable[..., Setup]) -> None:
    w = watched()
    watching = w.service.watching
    assert watching.retention == 1800  # the longest window: credential-read-then-egress
    now = [1_000_000.0]
    watching.clock = lambda: now[0]
    for n in range(30):
        now[0] += 100
        w.shell(f"echo {n}")
    with w.store.writing() as conn:
        gone = watching.prune_in(conn, now[0])
        kept = conn.execute(select(func.min(watch_events.c.at))).scalar_one()
    assert gone == 11
    assert kept >= now[0] - 1800
    with w.store.writing() as conn:
        conn.execute(watch_alerts.insert().values(
            id="old", rule="r", severity="low", scope="all", key="", at=now[0] - ALERT_DAYS
            * 86400 - 1, agent="", session="", reason="", audit_index=0))  # fmt: skip
        assert watching.prune_in(conn, now[0]) == 1


def test_spellings_of_one_target_are_one_target(watched: Callable[..., Setup]) -> None:
    w = watched()
    for spelling in ("~/.ssh", "~/.ssh/", "~//.ssh", "~/./.ssh"):
        w.shell(f"rm -rf {spelling}")
    (alert,) = w.events("alert")
    assert alert["rule"] == "rephrased-after-denial"


def test_text_is_compared_by_its_words(watched: Callable[..., Setup]) -> None:
    from watchkeeper.stream import similarity

    long = " ".join(f"w{n}" for n in range(5000))
    assert similarity(frozenset(), long, frozenset(), long + " more") == 1.0
    assert similarity(frozenset(), "ab" * 1000, frozenset(), "ba" * 1000) == 0.0


def test_a_tightened_approver_cannot_clear_it_and_a_clear_ends_the_cool_down(
    watched: Callable[..., Setup],
) -> None:
    from watchkeeper.errors import PauseError

    w = watched()
    bob, alice = w.person("bob@example.com"), w.person("alice@example.com")

    def approve(n: int, who: User) -> dict[str, Any]:
        action = {"tool": "Edit", "input": {"file_path": f"/srv/prod/{n}.conf"}}
        done = w.service.submit(action, agent=f"bot-{n}", session=f"s{n}")
        assert done.approval_id is not None
        return w.service.vote(done.approval_id, who, "approve")

    for n in range(11):
        approve(n, bob)
    (held,) = w.service.tightenings_in_force()
    with pytest.raises(PauseError, match="over your own approvals"):
        w.service.clear_tightening(held["id"], "I am fine", bob)
    w.service.clear_tightening(held["id"], "talked to bob", alice)
    approve(11, bob)  # the next burst vote tightens again at once: the cool-down ended
    assert len(w.service.tightenings_in_force()) == 1


def test_a_queue_cleared_in_a_burst_is_a_burst(watched: Callable[..., Setup]) -> None:
    w = watched()
    bob = w.person("bob@example.com")
    now = [2_000_000_000.0]
    w.service.watching.clock = lambda: now[0]
    opened = []
    for n in range(11):
        action = {"tool": "Edit", "input": {"file_path": f"/srv/prod/{n}.conf"}}
        opened.append(w.service.submit(action, agent=f"bot-{n}", session=f"s{n}").approval_id)
    now[0] += 3600  # an hour later, the whole queue in seconds
    for approval in opened:
        now[0] += 1
        assert approval is not None
        w.service.vote(approval, bob, "approve")
    (alert,) = w.events("alert")
    assert alert["rule"] == "approval-fatigue"
    assert alert["window"]["review_median"] < 30


def test_a_burst_counts_effects_not_commands(watched: Callable[..., Setup]) -> None:
    w = watched()
    files = " ".join(f"notes/{n}.md" for n in range(6))
    assert w.shell(f"rm {files}").decision.decision == "ask"  # six deletes: held at once
    (alert,) = w.events("alert")
    assert alert["rule"] == "destructive-burst"
