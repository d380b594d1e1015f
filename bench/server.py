"""The server over HTTP: decisions per second with a durable audit, latency at 500 req/s, and how
fast a waiting agent learns of a vote.

- *Throughput*: ``watchkeeper serve`` (one process, SQLite or PostgreSQL) and the load generator
  (``bench/load.py``, its own process) share the machine. Allow-path actions, each decided and
  committed to the audit log before its answer; closed loop with 32 connections.
- *500 req/s*: the same, open loop on a fixed schedule; latency counts from when a request was
  due.
- *Kill switch under load*: 500 approval waits held open (``?wait=60``) while a person pauses
  and resumes a session 50 times: how long each pause takes to answer, beside the same with no
  waits held (target ≤ 1 s p99).
- *Wake*: an agent waits on ``GET /v1/approvals/{id}?wait=30``; a person casts the deciding
  vote. Measured from sending the vote to the waiter's answer, so it includes the vote's own
  commit: an upper bound on commit → wake. On PostgreSQL the waiter and the voter talk to two
  different server processes (LISTEN/NOTIFY across replicas).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.harness import table
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities

PG = os.environ.get("WATCHKEEPER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
READ = {"tool": "shell", "environment": "prod", "input": {"command": "ls -la /srv/app"}}
DELETE = {"tool": "shell", "environment": "prod", "input": {"command": "rm -rf /srv/data"}}
WAKES = 300


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _server(url: str, workdir: Path, orders: str | None = None, **settings: str) -> Iterator[str]:
    """``watchkeeper serve`` in its own process (with ``orders``, else the built-in ones); its
    base URL once it answers."""
    port = _port()
    exe = Path(sys.executable).with_name("watchkeeper")
    env = {**os.environ, "WATCHKEEPER_AUDIT_KEY": str(workdir / "audit.key"),
           **{f"WATCHKEEPER_{k.upper()}": v for k, v in settings.items()}}  # fmt: skip
    # The server logs a line per request and per decision: into a file, never a pipe nobody
    # reads (its log thread would block on a full pipe and the records pile up in memory).
    log = workdir / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(exe), "serve", "--db", url, "--port", str(port),
             *(["--orders", orders] if orders else [])],
            env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None:
                tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise RuntimeError(f"the server exited: {tail}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def _people(url: str, n: int) -> tuple[str, list[str]]:
    store = Store.open(url)
    try:
        ids = Identities(store)
        key = ids.add_agent(f"bench-{time.time_ns()}")
        tokens = []
        for i in range(n):
            email = f"p{i}-{time.time_ns()}@example.com"
            ids.add_user(email, role="approver", groups=["sre"], password="x" * 16)
            tokens.append(ids.issue_token(email))
        return key, tokens
    finally:
        store.close()


def _load(base: str, key: str, body: Path, **options: Any) -> dict[str, float]:
    args = [sys.executable, "-m", "bench.load", "--url", base + "/v1/actions", "--key", key,
            "--body", str(body)]  # fmt: skip
    for name, value in options.items():
        args += [f"--{name}", str(value)]
    out = subprocess.run(args, check=True, capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent).stdout  # fmt: skip
    result: dict[str, float] = json.loads(out)
    return result


def _wakes(wait_on: str, vote_on: str, key: str, tokens: list[str]) -> tuple[float, float]:
    """Median and p99 milliseconds from sending the deciding vote to the waiter's answer."""
    samples = []
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(timeout=40) as agent, httpx.Client(timeout=40) as person:
        for i in range(WAKES):
            action = {**DELETE, "input": {"command": f"rm -rf /srv/data-{time.time_ns()}-{i}"}}
            asked = agent.post(wait_on + "/v1/actions", json=action, headers=auth).json()
            approval = asked["approval_id"]
            first, second = tokens[(2 * i) % len(tokens)], tokens[(2 * i + 1) % len(tokens)]
            person.post(f"{vote_on}/v1/approvals/{approval}/votes", json={"vote": "approve"},
                        headers={"Authorization": f"Bearer {first}"})  # fmt: skip
            answered: list[float] = []

            def wait(approval: str = approval, answered: list[float] = answered) -> None:
                view = agent.get(f"{wait_on}/v1/approvals/{approval}?wait=30", headers=auth)
                answered.append(time.perf_counter())
                assert view.json()["state"] == "approved", view.text

            waiter = threading.Thread(target=wait)
            waiter.start()
            time.sleep(0.05)  # the waiter is parked on the server
            sent = time.perf_counter()
            person.post(f"{vote_on}/v1/approvals/{approval}/votes", json={"vote": "approve"},
                        headers={"Authorization": f"Bearer {second}"})  # fmt: skip
            waiter.join()
            samples.append((answered[0] - sent) * 1000)
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


HELD = 500
PAUSES = 50


def _hold(base: str, key: str, approvals: list[str], ready: threading.Event) -> None:
    """Hold a wait on each approval until it is decided (its own event loop and thread)."""

    async def hold() -> None:
        limits = httpx.Limits(max_connections=len(approvals) + 10)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as http:
            tasks = [asyncio.create_task(http.get(f"/v1/approvals/{a}?wait=60",
                                                  headers={"Authorization": f"Bearer {key}"}))
                     for a in approvals]  # fmt: skip
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # until the server holds them all
                metrics = (await http.get("/metrics")).text
                if f"watchkeeper_waits_open {len(approvals):.1f}" in metrics:
                    break
                await asyncio.sleep(0.1)
            ready.set()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(hold())


def _pauses(base: str, key: str, token: str, held: int) -> tuple[float, float]:
    """p50 and p99 ms of pausing (and resuming) an agent while ``held`` waits are open."""
    person = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=120) as http:
        approvals = []
        for i in range(held):
            action = {**DELETE, "input": {"command": f"rm -rf /srv/held-{time.time_ns()}-{i}"}}
            asked = http.post("/v1/actions", json=action,
                              headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
            approvals.append(asked["approval_id"])
        ready = threading.Event()
        holder = threading.Thread(target=_hold, args=(base, key, approvals, ready), daemon=True)
        if held:
            holder.start()
            ready.wait(90)
        samples = []
        for i in range(PAUSES):
            started = time.perf_counter()
            paused = http.post(
                "/v1/pause",
                headers=person,
                json={"scope": "session", "target": f"drill-{i}", "reason": "drill"},
            )
            samples.append((time.perf_counter() - started) * 1000)
            http.request("DELETE", f"/v1/pause/{paused.json()['id']}", headers=person,
                         json={"reason": "drill over"})  # fmt: skip
        if held:  # the real thing: every waiter hears its approval was cancelled
            http.post("/v1/pause", headers=person, json={"scope": "all", "reason": "stop"})
            holder.join(60)
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _engine() -> Any:
    # The server itself, not watchkeeper's store: its public schema may hold another version's
    # tables, and the benchmark works in schemas of its own.
    return create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))


def _pg_ready() -> str | None:
    engine = _engine()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return f"PostgreSQL at {PG} is not available: {type(exc).__name__}"
    finally:
        engine.dispose()


def _fresh_pg_schema() -> str:
    """A schema of its own on the benchmark database, so runs do not see each other's rows."""
    schema = f"bench_{time.time_ns()}"
    engine = _engine()
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{PG}?options=-csearch_path%3D{schema}"


def section() -> str:
    rows, wake_rows, pause_rows = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        body = work / "read.json"
        body.write_text(json.dumps(READ))
        stores = [("SQLite", f"sqlite:///{work / 'bench.db'}")]
        missing = _pg_ready()
        if missing is None:
            stores.append(("PostgreSQL", _fresh_pg_schema()))
        for label, url in stores:
            key, tokens = _people(url, 4)
            home = work / label  # a signing key per log: each pins its own checkpoints
            home.mkdir()
            with _server(url, home) as base:
                _load(base, key, body, connections=8, seconds=1)  # warm up
                closed = _load(base, key, body, connections=32, seconds=8)
                steady = _load(base, key, body, connections=64, seconds=8, rate=500)
                rows.append([
                    label,
                    f"{closed['rate']:,.0f}",
                    f"{closed['p50_ms']:.1f} / {closed['p99_ms']:.1f}",
                    f"{steady['rate']:,.0f}",
                    f"{steady['p50_ms']:.1f} / {steady['p99_ms']:.1f}",
                    f"{int(closed['errors'] + steady['errors'])}",
                ])  # fmt: skip
                print(f"{label}: {closed['rate']:.0f} decisions/s", flush=True)
                if label == "SQLite":
                    p50, p99 = _wakes(base, base, key, tokens)
                    wake_rows.append([label, "one server", f"{p50:.1f} / {p99:.1f}"])
                else:
                    with _server(url, home) as other:
                        p50, p99 = _wakes(base, other, key, tokens)
                    wake_rows.append([label, "vote on another server",
                                      f"{p50:.1f} / {p99:.1f}"])  # fmt: skip
            kill = work / f"{label}-kill"
            kill.mkdir()
            kill_url = (f"sqlite:///{kill / 'kill.db'}" if label == "SQLite"
                        else _fresh_pg_schema())  # fmt: skip
            key, tokens = _people(kill_url, 1)
            with _server(kill_url, kill, max_waits_per_agent=str(HELD * 2)) as base:
                idle = _pauses(base, key, tokens[0], 0)
                loaded = _pauses(base, key, tokens[0], HELD)
            pause_rows.append([label, f"{idle[0]:.1f} / {idle[1]:.1f}",
                               f"{loaded[0]:.1f} / {loaded[1]:.1f}",
                               f"{loaded[1] / idle[1]:.1f}x",
                               "met" if loaded[1] <= 1000 else "MISSED"])  # fmt: skip
            print(f"{label}: pause p99 {loaded[1]:.1f} ms with {HELD} waits", flush=True)
        if missing is not None:
            rows.append(["PostgreSQL", missing, "-", "-", "-", "-"])
    throughput = table(
        rows,
        ["store", "decisions/s (32 conns)", "p50 / p99 ms", "at 500 req/s: served/s",
         "p50 / p99 ms", "non-200"],
    )  # fmt: skip
    wakes = table(wake_rows, ["store", "setup", "vote sent → waiter answered, p50 / p99 ms"])
    kills = table(pause_rows, ["store", "pause, no waits: p50 / p99 ms",
                               f"pause, {HELD} waits held: p50 / p99 ms", "p99 ratio",
                               "≤ 1 s p99"])  # fmt: skip
    return f"""## The server over HTTP (`bench/server.py`)

`watchkeeper serve` in one process, the load generator (`bench/load.py`) in another, on the
same machine: allow-path shell actions, each decided and committed to the audit log (SQLite:
WAL, synchronous=FULL) before it is answered. Target: ≥ 2,000 decisions/s on SQLite.

{throughput}

Waking a waiting agent: {WAKES} approvals, each decided by a second vote while the agent waits
on `?wait=30` (target ≤ 50 ms p99 from commit to answer).

{wakes}

The kill switch under load: {HELD} approval waits held open by one agent while a person pauses
(and resumes) a session {PAUSES} times; beside it, the same pauses with no waits held.

{kills}
"""


if __name__ == "__main__":
    print(section())
