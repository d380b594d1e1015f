"""Watch rules: what they add to a decision, in process and over HTTP.

The same actions are decided under three sets of orders in one run: the built-in defaults
without their watch pack, with it (six rules), and with twenty watch rules (the pack and
fourteen more over other scopes, windows and fields). In process, the service records each
decision on SQLite (the stream, the alerts and the decision commit together): the watch's own
work is timed inside the recording transaction, and the whole submit end to end. Over HTTP, a
``watchkeeper serve`` per set of orders takes the same open-loop load. Each agent's stream is
kept realistic: 40 agents in 200 sessions, each acting a few times a minute, so windows hold
what an agent really does; one agent flooding its own window is measured apart.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import table

CALLS = 3000
HTTP_SECONDS = 6
HTTP_RATE = 200
EXTRA = [
    ("agent", "5m", "window.denied > 20"),
    ("agent", "1h", "window.rate > 100.0"),
    ("session", "30m", "window.targets > 50"),
    ("tool", "10m", "window.tags.delete > 30"),
    ("agent", "1d", "window.first_target && event.environment == 'prod' && 'write' in event.tags"),
    ("session", "5m", "window.asked > 10 && window.allowed == 0"),
    ("all", "1m", "window.count > 5000"),
    ("agent", "10m", "'privileged' in event.tags && window.tags.privileged > 3"),
    ("session", "15m", "window.tags.egress > 20"),
    ("target", "1h", "window.count > 10 && event.irreversible"),
    ("agent", "2h", "window.tags.grant > 2"),
    ("session", "10m", "event.decision == 'deny' && window.denied > 5"),
    ("tool", "1h", "window.tags.obfuscated > 0 && event.decision != 'deny'"),
    ("agent", "30m", "!clock.business_hours && window.irreversible > 2"),
]


def _orders(kind: str) -> str:
    from watchkeeper.orders.loader import builtin_text

    text = builtin_text()
    if kind == "none":
        return text.split("\nwatch:\n")[0] + "\n"
    if kind == "pack":
        return text
    more = "".join(
        f'  - name: extra-{n}\n    scope: {scope}\n    window: {window}\n    when: "{when}"\n'
        for n, (scope, window, when) in enumerate(EXTRA)
    )
    return text + more


def _actions(n: int) -> list[dict[str, Any]]:
    commands = ["ls -la src", "git status", "cat README.md", "rm build/a.o", "pytest -q",
                "grep -r TODO src", "git diff", "make lint", "rm -rf /srv/prod/cache",
                "curl https://example.com"]  # fmt: skip
    return [
        {"tool": "shell", "agent": f"agent-{i % 40}", "session": f"s-{i % 200}",
         "input": {"command": commands[i % len(commands)]}}
        for i in range(n)
    ]  # fmt: skip


def _in_process(kind: str, work: Path) -> tuple[float, float, float]:
    """(watch work p50 µs, submit p50 µs, submit p99 µs) on SQLite, one decision at a time."""
    from watchkeeper.config import Settings
    from watchkeeper.orders.loader import load_text
    from watchkeeper.service import Service
    from watchkeeper.store.database import Store

    store = Store.open(f"sqlite:///{work / f'{kind}.db'}")
    service = Service.open(load_text(_orders(kind)), store,
                           Settings(audit_key=str(work / f"{kind}.key")))  # fmt: skip
    watching = service.watching
    spent: list[int] = []
    judge, finish = watching.judge_in, watching.finish_in

    def timed_judge(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return judge(*args, **kwargs)
        finally:
            spent.append(time.perf_counter_ns() - start)

    def timed_finish(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return finish(*args, **kwargs)
        finally:
            spent[-1] += time.perf_counter_ns() - start

    watching.judge_in = timed_judge  # type: ignore[method-assign]
    watching.finish_in = timed_finish  # type: ignore[method-assign]
    # Each agent acts every 12 s or so: 40 agents × 5 actions/min; the stream's clock runs
    # with the actions, so windows hold what they would in an hour of such work.
    clock = [time.time() - 3600]
    watching.clock = lambda: clock[0]
    actions = _actions(CALLS + 500)
    for action in actions[:500]:
        clock[0] += 0.3
        service.submit(action)
    spent.clear()
    samples = []
    for action in actions[500:]:
        clock[0] += 0.3
        start = time.perf_counter_ns()
        service.submit(action)
        samples.append(time.perf_counter_ns() - start)
    service.close()
    store.close()
    samples.sort()
    work_p50 = statistics.median(spent) / 1000 if spent else 0.0
    return work_p50, samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.99)] / 1000


def _flood(work: Path, events: int) -> float:
    """The pack's watch work (p50 µs) for an agent whose own window already holds ``events``."""
    from watchkeeper.config import Settings
    from watchkeeper.orders.loader import load_text
    from watchkeeper.service import Service
    from watchkeeper.store.database import Store

    store = Store.open(f"sqlite:///{work / f'flood-{events}.db'}")
    service = Service.open(load_text(_orders("pack")), store,
                           Settings(audit_key=str(work / "flood.key")))  # fmt: skip
    clock = [time.time() - 600]
    service.watching.clock = lambda: clock[0]
    action = {"tool": "shell", "agent": "busy", "session": "s", "input": {"command": "ls"}}
    step = 500.0 / max(events, 1)
    for _ in range(events):
        clock[0] += step
        service.submit(action)
    samples = []
    for _ in range(200):
        clock[0] += 0.001
        start = time.perf_counter_ns()
        service.submit(action)
        samples.append(time.perf_counter_ns() - start)
    service.close()
    store.close()
    return statistics.median(samples) / 1000


def _http(kind: str, work: Path) -> dict[str, float]:
    from bench.server import _load, _people, _server

    home = work / f"http-{kind}"
    home.mkdir()
    orders = home / "orders.yaml"
    orders.write_text(_orders(kind))
    url = f"sqlite:///{home / 'wk.db'}"
    key, _ = _people(url, 0)
    body = home / "body.json"
    body.write_text(json.dumps({"tool": "shell", "session": "s-1",
                                "input": {"command": "git status"}}))  # fmt: skip
    with _server(url, home, orders=str(orders)) as base:
        _load(base, key, body, connections=4, seconds=1)
        return _load(base, key, body, connections=8, seconds=HTTP_SECONDS, rate=HTTP_RATE)


SCORED = 100_000


def _history(n: int) -> list[dict[str, Any]]:
    """``n`` actions over 30 days, with approvals, votes, outcomes and an incident."""
    from datetime import UTC, datetime

    start = time.time() - 30 * 86400

    def at(offset: float) -> str:
        return datetime.fromtimestamp(start + offset, UTC).isoformat(timespec="microseconds")

    events: list[dict[str, Any]] = []
    step = 30 * 86400 / n
    for i in range(n):
        t = i * step
        asked = i % 10 >= 7
        decision = "ask" if asked else ("deny" if i % 10 == 6 else "allow")
        index = len(events)
        events.append({"kind": "action", "time": at(t), "action": {
            "tool": "shell", "agent": f"agent-{i % 40}", "session": f"s-{i % 400}",
            "input": {"command": "ls"}}})  # fmt: skip
        events.append({"kind": "decision", "time": at(t), "decision": {
            "decision": decision, "rules": [f"rule-{i % 25}"] if i % 3 else []}})  # fmt: skip
        if asked:
            events.append({"kind": "approval_requested", "time": at(t), "approval": f"a{i}",
                           "agent": f"agent-{i % 40}", "action_index": index})  # fmt: skip
            events.append({"kind": "vote", "time": at(t + 5 + i % 60), "approval": f"a{i}",
                           "email": f"p{i % 6}@example.com", "vote": "approve",
                           "break_glass": False, "state": "approved"})  # fmt: skip
        if i % 100 == 0:
            events.append({"kind": "outcome", "time": at(t + 1), "action_index": index,
                           "status": "failed"})  # fmt: skip
    events.append({"kind": "incident_opened", "time": at(30 * 86400), "incident": "i1",
                   "actions": [0, 2]})  # fmt: skip
    return events


def _scorecards(work: Path) -> list[list[str]]:
    """Seconds to score ``SCORED`` actions by agent, rule and approver on SQLite (median of
    three)."""
    from watchkeeper.orders.loader import load_text
    from watchkeeper.store.audit import AuditLog
    from watchkeeper.store.database import Store
    from watchkeeper.store.scorecards import Scorecards

    store = Store.open(f"sqlite:///{work / 'scored.db'}")
    with store.writing() as conn:
        AuditLog(store).append_in(conn, _history(SCORED))
    cards = Scorecards(store, load_text(_orders("pack")))
    rows = []
    for by in ("agent", "rule", "approver"):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            cards.compute(by, since=time.time() - 31 * 86400)
            times.append(time.perf_counter() - start)
        took = statistics.median(times)
        rows.append([by, f"{took:.2f}", "met" if took <= 2.0 else "MISSED"])
    store.close()
    return rows


def section() -> str:
    rows, http_rows, verdicts = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        measured = {kind: _in_process(kind, work) for kind in ("none", "pack", "twenty")}
        base = measured["none"]
        for kind, label in (("none", "no watch rules"), ("pack", "built-in pack (6)"),
                            ("twenty", "20 watch rules")):  # fmt: skip
            own, p50, p99 = measured[kind]
            rows.append([label, f"{own:,.0f}", f"{p50:,.0f} / {p99:,.0f}",
                         f"{p50 - base[1]:+,.0f}"])  # fmt: skip
            if kind != "none":
                verdicts.append(f"- in process, {label}: the watch's work {own:,.0f} µs p50 "
                                f"(≤ 100 µs): **{'met' if own <= 100 else 'MISSED'}**")  # fmt: skip
        print(f"watch in process: {measured}", flush=True)
        flood = [(n, _flood(work, n)) for n in (100, 2000, 10000)]
        served = {kind: _http(kind, work) for kind in ("none", "pack", "twenty")}
        for kind, label in (("none", "no watch rules"), ("pack", "built-in pack (6)"),
                            ("twenty", "20 watch rules")):  # fmt: skip
            got = served[kind]
            added = got["p50_ms"] - served["none"]["p50_ms"]
            http_rows.append([label, f"{got['rate']:,.0f}",
                              f"{got['p50_ms']:.2f} / {got['p99_ms']:.2f}", f"{added:+.2f}",
                              f"{int(got['errors'])}"])  # fmt: skip
            if kind != "none":
                verdicts.append(f"- over HTTP, {label}: {added:+.2f} ms p50 (≤ 1 ms): "
                                f"**{'met' if added <= 1.0 else 'MISSED'}**")  # fmt: skip
        print(f"watch over HTTP: {served}", flush=True)
        scored = _scorecards(work)
        print(f"scorecards: {scored}", flush=True)
    floods = table([[f"{n:,}", f"{us:,.0f}"] for n, us in flood],
                   ["events already in the agent's window", "submit p50 µs"])  # fmt: skip
    return f"""## Watch rules (`bench/watch.py`)

The built-in orders without their watch pack, with it (6 rules), and with 20 watch rules,
deciding the same shell actions (40 agents, 200 sessions, a decision every 0.3 s of the
stream's clock). In process: the service on SQLite, {CALLS:,} decisions one at a time; "watch
work" is the time spent in the watch rules inside the recording transaction (the stream row,
the windows' queries, the CEL, alerts); "added" is the submit's p50 over the one without.

{table(rows, ["orders", "watch work p50 µs", "submit p50 / p99 µs", "added p50 µs"])}

Over HTTP: a `watchkeeper serve` (SQLite) per set of orders, {HTTP_RATE} requests/s for
{HTTP_SECONDS} s on 8 connections (`bench/load.py`, open loop).

{table(http_rows, ["orders", "served/s", "p50 / p99 ms", "added p50 ms", "non-200"])}

A window's counts are one indexed range query over the events of that agent (or session, …) in
the window: their cost grows with what one agent does in one window. One agent flooding its
own window, with the pack:

{floods}

Scorecards over {SCORED:,} actions (30 days, 30% asked and approved, outcomes, an incident),
read from the audit log on SQLite (target ≤ 2 s):

{table(scored, ["by", "seconds (median of 3)", "≤ 2 s"])}

Targets:
{chr(10).join(verdicts)}
"""


if __name__ == "__main__":
    sys.stdout.write(section())
