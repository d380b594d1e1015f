"""The server over HTTP: decisions per second with a durable audit, latency at 500 req/s, and how
fast a waiting agent learns of a vote.

- *Throughput*: ``watchkeeper serve`` (one process, SQLite or PostgreSQL) and the load generator
  (``bench/load.py``, its own process) share the machine. Allow-path actions, each decided and
  committed to the audit log before its answer; closed loop with 32 connections.
- *500 req/s*: the same, open loop on a fixed schedule; latency counts from when a request was
  due.
- *Wake*: an agent waits on ``GET /v1/approvals/{id}?wait=30``; a person casts the deciding
  vote. Measured from sending the vote to the waiter's answer, so it includes the vote's own
  commit: an upper bound on commit → wake. On PostgreSQL the waiter and the voter talk to two
  different server processes (LISTEN/NOTIFY across replicas).
"""

from __future__ import annotations

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
from sqlalchemy import text

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
def _server(url: str, workdir: Path) -> Iterator[str]:
    """``watchkeeper serve`` in its own process; its base URL once it answers."""
    port = _port()
    exe = Path(sys.executable).with_name("watchkeeper")
    env = {**os.environ, "WATCHKEEPER_AUDIT_KEY": str(workdir / "audit.key")}
    proc = subprocess.Popen(
        [str(exe), "serve", "--db", url, "--port", str(port)],
        env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
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


def _pg_ready() -> str | None:
    try:
        store = Store.open(PG)
        with store.reading() as conn:
            conn.execute(text("SELECT 1"))
        store.close()
        return None
    except Exception as exc:
        return f"PostgreSQL at {PG} is not available: {type(exc).__name__}"


def _fresh_pg_schema() -> str:
    """A schema of its own on the benchmark database, so runs do not see each other's rows."""
    schema = f"bench_{time.time_ns()}"
    engine = Store.open(PG).engine
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{PG}?options=-csearch_path%3D{schema}"


def section() -> str:
    rows, wake_rows = [], []
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
        if missing is not None:
            rows.append(["PostgreSQL", missing, "-", "-", "-", "-"])
    throughput = table(
        rows,
        ["store", "decisions/s (32 conns)", "p50 / p99 ms", "at 500 req/s: served/s",
         "p50 / p99 ms", "non-200"],
    )  # fmt: skip
    wakes = table(wake_rows, ["store", "setup", "vote sent → waiter answered, p50 / p99 ms"])
    return f"""## The server over HTTP (`bench/server.py`)

`watchkeeper serve` in one process, the load generator (`bench/load.py`) in another, on the
same machine: allow-path shell actions, each decided and committed to the audit log (SQLite:
WAL, synchronous=FULL) before it is answered. Target: ≥ 2,000 decisions/s on SQLite.

{throughput}

Waking a waiting agent: {WAKES} approvals, each decided by a second vote while the agent waits
on `?wait=30` (target ≤ 50 ms p99 from commit to answer).

{wakes}
"""


if __name__ == "__main__":
    print(section())
