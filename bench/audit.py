"""The audit log: durable decisions, append throughput, verification, proofs at a million.

- *Durable decision*: ``Service.submit`` with a store, on SQLite (WAL, synchronous=FULL)
  and PostgreSQL: decide, then commit the action and decision events, one call at a time.
- *Append throughput* on SQLite: batches of 1,000 events per transaction (target ≥ 10,000
  events/s), and 64 threads appending one event each through ``GroupCommit``, which shares
  each commit among whoever is waiting (bounded by Python's thread hand-offs, not the disk).
- *Verify*: ``audit verify`` on a million events (target ≥ 200,000 events/s).
- *Inclusion proof* at a million events: median of random indexes.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.harness import table
from watchkeeper.config import Settings
from watchkeeper.orders.loader import builtin
from watchkeeper.service import Service
from watchkeeper.store.audit import AuditLog, GroupCommit
from watchkeeper.store.database import Store

PG = os.environ.get("WATCHKEEPER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
MILLION = 1_000_000
ACTION = {"tool": "shell", "environment": "prod", "input": {"command": "ls -la /srv/app"}}


def _event(i: int) -> dict[str, Any]:
    return {"kind": "decision", "n": i, "decision": "allow", "reasons": ["x" * 80]}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def durable(url: str, key: Path, calls: int = 1000) -> tuple[float, float]:
    settings = Settings(audit_key=str(key), checkpoint_every=10**9, checkpoint_seconds=1e9)
    service = Service.open(builtin(), Store.open(url), settings)
    recorder = service.recorder
    try:
        for _ in range(50):
            service.submit(ACTION)
        samples = []
        for _ in range(calls):
            start = time.perf_counter()
            decision = service.submit(ACTION).decision
            samples.append((time.perf_counter() - start) * 1e6)
            assert decision.decision == "allow", decision.reasons
        return _percentiles(samples)
    finally:
        recorder.close()


def _pg_schema() -> tuple[str, Any] | None:
    engine = create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))
    schema = f"wk_bench_{os.getpid()}"
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception:
        engine.dispose()
        return None
    return f"{PG}?options=-csearch_path%3D{schema}", (engine, schema)


def section() -> str:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        key = root / "audit.key"
        p50, p99 = durable(f"sqlite:///{root / 'durable.db'}", key)
        rows.append(["durable decision, SQLite", f"{p50:,.0f} / {p99:,.0f} µs"])
        pg = _pg_schema()
        if pg is None:
            rows.append(["durable decision, PostgreSQL", f"not reachable at {PG}"])
        else:
            url, (engine, schema) = pg
            try:
                p50, p99 = durable(url, key)
                rows.append(["durable decision, PostgreSQL", f"{p50:,.0f} / {p99:,.0f} µs"])
            finally:
                with engine.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                engine.dispose()

        store = Store.open(f"sqlite:///{root / 'big.db'}")
        log = AuditLog(store)
        start = time.perf_counter()
        for first in range(0, MILLION, 1000):
            log.append([_event(i) for i in range(first, first + 1000)])
        batched = MILLION / (time.perf_counter() - start)
        rows.append(["append, batches of 1,000 (SQLite)", f"{batched:,.0f} events/s"])

        group = GroupCommit(log)
        count = 20_000
        start = time.perf_counter()
        with ThreadPoolExecutor(64) as pool:
            list(pool.map(lambda i: group.append([_event(i)]), range(count)))
        grouped = count / (time.perf_counter() - start)
        group.close()
        rows.append(["append, 64 threads × 1 event, group commit (SQLite)",
                     f"{grouped:,.0f} events/s"])  # fmt: skip

        size = log.size()
        start = time.perf_counter()
        report = log.verify()
        verify_rate = size / (time.perf_counter() - start)
        assert report.ok, report.problem
        rows.append([f"audit verify, {size:,} events (SQLite)", f"{verify_rate:,.0f} events/s"])

        rng = random.Random(7)
        proofs = []
        for _ in range(200):
            index = rng.randrange(size)
            start = time.perf_counter()
            log.inclusion_proof(index, size)
            proofs.append((time.perf_counter() - start) * 1e6)
        p50, p99 = _percentiles(proofs)
        rows.append([f"inclusion proof at {size:,} events", f"{p50:,.0f} / {p99:,.0f} µs"])
        store.close()
    verdicts = [
        f"- batched append ≥ 10,000 events/s: **{'met' if batched >= 10_000 else 'MISSED'}**"
        f" ({batched:,.0f}; one event per thread through group commit: {grouped:,.0f})",
        f"- verify ≥ 200,000 events/s: **{'met' if verify_rate >= 200_000 else 'MISSED'}**"
        f" ({verify_rate:,.0f})",
    ]
    return f"""## The audit log (`bench/audit.py`)

{(__doc__ or "").split(chr(10), 2)[2].strip()}

{table(rows, ["measure", "result (p50 / p99 where timed per call)"])}

Targets:
{chr(10).join(verdicts)}
"""
