"""Watch rules through real servers on loopback: the evasion scenario end to end (webhook and
email delivered, the owner written to), alerts and tightenings over the API and the CLI, and
two replicas on one PostgreSQL database sharing one stream."""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from tests.server.conftest import _free_port, serving
from tests.server.test_notify import Mailbox, Receiver, eventually
from watchkeeper.cli import app
from watchkeeper.config import Settings
from watchkeeper.orders.loader import load_text
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities

ORDERS = """\
environments:
  prod: {{default: ask, match: {{paths: ["/srv/prod/**"]}}}}
  dev: {{default: allow, unplaced: true}}
groups:
  sre: [alice@example.com]
agents:
  infra-bot: {{owner: owner@example.com}}
channels:
  hook: {{type: webhook, url: "{hook}/hook"}}
  mail: {{type: email, smtp: "127.0.0.1:{smtp}", from: wk@example.com, to: [oncall@example.com]}}
rules:
  - name: no-prod-deletes
    match: {{environment: prod, verb: delete}}
    decision: deny
watch:
  - name: rephrased-after-denial
    scope: session
    window: 15m
    when: "window.similar_denied >= 2"
    severity: high
    pause: session
    reason: The agent keeps trying what it was denied, in other words.
  - name: destructive-burst
    scope: agent
    window: 10m
    when: "event.irreversible && event.decision != 'deny' && window.irreversible > 2"
    tighten: agent
"""
TRIES = ["rm -rf /srv/prod/data", "rm -fr /srv/prod/data", "find /srv/prod/data -delete"]


class World:
    def __init__(self, bases: list[str], key: str, person: str, receiver: Receiver,
                 mailbox: Mailbox) -> None:  # fmt: skip
        self.bases, self.key, self.person = bases, key, person
        self.receiver, self.mailbox = receiver, mailbox

    def shell(self, command: str, session: str = "s1", replica: int = 0) -> dict[str, Any]:
        body = {"tool": "shell", "session": session, "input": {"command": command}}
        answer = httpx.post(self.bases[replica] + "/v1/actions", json=body, timeout=10,
                            headers={"Authorization": f"Bearer {self.key}"})  # fmt: skip
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def get(self, path: str, replica: int = 0) -> Any:
        answer = httpx.get(self.bases[replica] + path, timeout=10,
                           headers={"Authorization": f"Bearer {self.person}"})  # fmt: skip
        assert answer.status_code == 200, answer.text
        return answer.json()


def _world(urls: list[str], tmp_path: Path) -> Iterator[World]:
    receiver, mailbox = Receiver(), Mailbox()
    smtp = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp)
    controller.start()
    orders = load_text(ORDERS.format(hook=receiver.url, smtp=smtp), "watch.yaml")
    stores = [Store.open(url) for url in urls]
    ids = Identities(stores[0])
    key = ids.add_agent("infra-bot")
    ids.add_user("alice@example.com", role="approver", groups=[], password="x" * 16)
    person = ids.issue_token("alice@example.com")
    settings = Settings(audit_key=str(tmp_path / "audit.key"))
    contexts = [serving(store, settings, orders) for store in stores]
    try:
        bases = [c.__enter__() for c in contexts]
        yield World(bases, key, person, receiver, mailbox)
    finally:
        for c in reversed(contexts):
            c.__exit__(None, None, None)
        for store in stores:
            store.close()
        controller.stop()
        receiver.close()


@pytest.fixture
def world(store_url: str, tmp_path: Path) -> Iterator[World]:
    yield from _world([store_url], tmp_path)


@pytest.fixture
def replicas(pg_url: str, tmp_path: Path) -> Iterator[World]:
    yield from _world([pg_url, pg_url], tmp_path)


def test_evasion_pauses_the_session_and_tells_the_owner(world: World) -> None:
    answers = [world.shell(command) for command in TRIES]
    assert [a["decision"] for a in answers] == ["deny", "deny", "deny"]
    (alert,) = world.get("/v1/alerts")["alerts"]
    assert (alert["rule"], alert["scope"], alert["key"], alert["severity"]) == (
        "rephrased-after-denial", "session", "infra-bot/s1", "high",
    )  # fmt: skip
    (pause,) = world.get("/v1/pause")["pauses"]
    assert (pause["scope"], pause["target"]) == ("session", "infra-bot/s1")
    assert alert["pause"] == pause["id"]
    assert world.shell("ls")["decision"] == "deny"
    assert world.shell("ls", session="s2")["decision"] == "allow"  # the agent's other session
    hooked = eventually(lambda: [json.loads(b) for _, b in world.receiver.on("/hook")
                                 if json.loads(b)["kind"] == "watch_alert"])  # fmt: skip
    (told,) = hooked
    assert told["payload"]["events"] == sorted(
        [a["action_id"] for a in answers] + [answers[-1]["action_id"] + 1]
    )
    assert told["text"].startswith("HIGH rephrased-after-denial on infra-bot (paused)")
    assert "owner owner@example.com" in told["text"]
    subject = "HIGH rephrased-after-denial"
    mails = eventually(lambda: [m for m in world.mailbox.messages
                                if subject in m.content.decode()])  # fmt: skip
    assert set(mails[0].rcpt_tos) == {"oncall@example.com", "owner@example.com"}
    assert f"/audit/{alert['audit_index']}" in mails[0].content.decode()


def test_a_tightening_is_listed_and_cleared_over_the_api_and_the_cli(world: World) -> None:
    for n in range(3):
        world.shell(f"rm notes/{n}.md")
    assert world.shell("ls")["decision"] == "ask"
    (held,) = world.get("/v1/tightenings")["tightenings"]
    assert (held["scope"], held["target"], held["rule"]) == ("agent", "infra-bot",
                                                            "destructive-burst")  # fmt: skip
    env = {"WATCHKEEPER_SERVER": world.bases[0], "WATCHKEEPER_TOKEN": world.person}
    runner = CliRunner()
    listed = runner.invoke(app, ["watch", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert held["id"] in listed.output
    alerts = runner.invoke(app, ["alerts", "--json"], env=env)
    assert json.loads(alerts.stdout)["alerts"][0]["rule"] == "destructive-burst"
    nameless = runner.invoke(app, ["watch", "clear", held["id"][:6]], env=env)
    assert nameless.exit_code == 2  # --reason is required
    cleared = runner.invoke(app, ["watch", "clear", held["id"][:6], "--reason", "planned"],
                            env=env)  # fmt: skip
    assert cleared.exit_code == 0, cleared.output
    assert "cleared: tightening" in cleared.output
    assert world.shell("ls")["decision"] == "allow"
    again = runner.invoke(app, ["watch", "clear", held["id"], "--reason", "twice"], env=env)
    assert again.exit_code == 1
    assert "already cleared" in again.output


def test_agents_cannot_read_or_clear_what_the_watch_found(world: World) -> None:
    agent = {"Authorization": f"Bearer {world.key}"}
    assert httpx.get(world.bases[0] + "/v1/alerts", headers=agent).status_code in (401, 403)
    gone = httpx.delete(world.bases[0] + "/v1/tightenings/x", headers=agent)
    assert gone.status_code in (401, 403)


def test_two_replicas_count_one_stream(replicas: World) -> None:
    # Each try goes to the other replica: only a stream they share sees the three together.
    answers = [replicas.shell(command, replica=n % 2) for n, command in enumerate(TRIES)]
    assert [a["decision"] for a in answers] == ["deny", "deny", "deny"]
    for replica in (0, 1):
        (alert,) = replicas.get("/v1/alerts", replica)["alerts"]
        assert alert["rule"] == "rephrased-after-denial"
        assert replicas.shell("ls", replica=replica)["decision"] == "deny"
        assert replicas.shell("ls", session="s2", replica=replica)["decision"] == "allow"


def test_replicas_under_a_burst_raise_one_alert_and_one_pause(replicas: World) -> None:
    spellings = ["rm -rf", "rm -fr", "rm -r -f", "rm -f -r", "rm -Rf", "rm -fR"]
    tries = [(f"{s} /srv/prod/data", n % 2) for n in range(4) for s in spellings]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda t: replicas.shell(t[0], replica=t[1]), tries))
    assert {a["decision"] for a in answers} == {"deny"}
    assert len(replicas.get("/v1/alerts")["alerts"]) == 1  # the cool-down holds across both
    assert len(replicas.get("/v1/pause", 1)["pauses"]) == 1
