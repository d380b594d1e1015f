"""The server killed with SIGKILL at random points of the approval flow, many times, then
restarted: no release without approval, no release twice, every acknowledged release kept, and
the audit log verifies (SPEC §7 invariant 3)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.server.conftest import _free_port, serve_process
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities

ROUNDS = 8


def start(url: str, home: Path, port: int) -> subprocess.Popen[bytes]:
    return serve_process(url, home, port=port)[0]


def flows(base: str, key: str, people: list[str], stop: threading.Event,
          granted: list[str], n: int) -> None:  # fmt: skip
    """Ask, vote twice, consume twice at once — until the server dies."""
    agent = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, timeout=5) as http:
        i = 0
        while not stop.is_set():
            i += 1
            action = {"tool": "shell", "environment": "prod",
                      "input": {"command": f"rm -rf /srv/crash-{n}-{i}"}}  # fmt: skip
            try:
                asked = http.post("/v1/actions", json=action, headers=agent).json()
                approval = asked["approval_id"]
                for token in random.sample(people, 2):
                    http.post(f"/v1/approvals/{approval}/votes", json={"vote": "approve"},
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip
                results: list[int] = []

                def consume(approval: str = approval, digest: str = asked["digest"],
                            results: list[int] = results) -> None:  # fmt: skip
                    try:
                        answer = http.post(f"/v1/approvals/{approval}/consume",
                                           json={"digest": digest}, headers=agent)  # fmt: skip
                    except httpx.HTTPError:
                        return  # killed mid-request: the agent never heard of a grant
                    results.append(answer.status_code)

                pair = [threading.Thread(target=consume) for _ in range(2)]
                for t in pair:
                    t.start()
                for t in pair:
                    t.join()
                if 200 in results:
                    granted.append(approval)
            except (httpx.HTTPError, KeyError, ValueError):
                return  # the server died under us


@pytest.mark.slow
def test_sigkill_anywhere_never_releases_twice_or_unapproved(
    store_url: str, tmp_path: Path
) -> None:
    store = Store.open(store_url)
    ids = Identities(store)
    key = ids.add_agent("crash-bot")
    people = []
    for n in range(3):
        ids.add_user(f"sre{n}@example.com", role="approver", groups=["sre"], password="x" * 16)
        people.append(ids.issue_token(f"sre{n}@example.com"))
    granted: list[str] = []
    rng = random.Random(7)
    for n in range(ROUNDS):
        port = _free_port()
        proc = start(store_url, tmp_path, port)
        stop = threading.Event()
        workers = [threading.Thread(target=flows, args=(f"http://127.0.0.1:{port}", key, people,
                                                        stop, granted, n * 10 + w))
                   for w in range(3)]  # fmt: skip
        for w in workers:
            w.start()
        if n == 0:
            # The first round lets one flow reach its release before the kill, however loaded
            # the machine, so that the checks below always have a release to hold against.
            deadline = time.monotonic() + 60
            while not granted and time.monotonic() < deadline:
                time.sleep(0.05)
        time.sleep(rng.uniform(0.2, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        for w in workers:
            w.join(10)
    # After the last kill, a fresh server opens the same database and works.
    port = _free_port()
    proc = start(store_url, tmp_path, port)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)

    with store.reading() as conn:
        rows = conn.execute(text(
            "SELECT id, state, consumed_at IS NOT NULL FROM approvals")).all()  # fmt: skip
        approving = dict(conn.execute(text(
            "SELECT approval_id, COUNT(*) FROM votes WHERE vote = 'approve' "
            "GROUP BY approval_id")).all())  # fmt: skip
    consumed = {r[0] for r in rows if r[2]}
    assert consumed, "no flow got as far as a release: the test proved nothing"
    for approval_id, state, used in rows:
        if used:  # released only when approved by the two people the rule wants
            assert state == "approved"
            assert approving.get(approval_id, 0) >= 2
    assert set(granted) <= consumed  # every release the agent was told of is durable
    events: list[dict[str, Any]] = [json.loads(leaf.event) for leaf in AuditLog(store).leaves()]
    releases = [e["approval"] for e in events if e["kind"] == "grant_consumed"]
    assert len(releases) == len(set(releases))  # never twice
    assert set(releases) == consumed  # and the log says exactly what the rows say
    assert AuditLog(store).verify().ok
    store.close()
