"""Writers killed with SIGKILL at random moments, many times: nothing returned is ever lost.

Each round starts two writer processes that append events (and now and then sign a
checkpoint), printing each index only after its append returned. The round kills both at a
random moment. Afterwards the log verifies, and every printed event is there, as written.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from watchkeeper.store.audit import AuditLog
from watchkeeper.store.checkpoint import Signer
from watchkeeper.store.database import Store

WRITER = """
import itertools, json, sys
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.checkpoint import Signer
from watchkeeper.store.database import Store
url, key, who = sys.argv[1], sys.argv[2], sys.argv[3]
log = AuditLog(Store.open(url))
signer = Signer.load(key, "crash.example/audit")
print("ready", flush=True)
for n in itertools.count():
    batch = [{"kind": "crash", "who": who, "n": n, "part": p} for p in range(1 + n % 3)]
    first = log.append(batch)[0]
    print(json.dumps([first, who, n, len(batch)]), flush=True)
    if n % 7 == 6:
        log.checkpoint(signer, "crash.example/audit")
"""


@pytest.mark.slow
def test_killed_writers_lose_nothing_that_returned(store_url: str, tmp_path: Path) -> None:
    rounds = 12 if store_url.startswith("sqlite") else 8
    key = tmp_path / "audit.key"
    Store.open(store_url).close()  # migrate once, before writers race
    Signer.load(key, "crash.example/audit")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    returned: list[tuple[int, str, int, int]] = []
    rng = random.Random(20261130)
    for round_ in range(rounds):
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, store_url, str(key), f"w{round_}-{i}"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=env,
            )
            for i in range(2)
        ]
        for w in writers:  # both are appending before the clock starts
            assert w.stdout is not None
            assert w.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.02, 0.4))
        for w in writers:
            os.kill(w.pid, signal.SIGKILL)
        for w in writers:
            out, _ = w.communicate()
            for line in out.splitlines():
                if line.startswith("["):
                    first, who, n, count = json.loads(line)
                    returned.append((first, who, n, count))
    assert returned, "the writers never appended anything"
    store = Store.open(store_url)
    try:
        log = AuditLog(store)
        report = log.verify(Signer.load(key, "crash.example/audit").verifier)
        assert report.ok, report.problem
        events = {leaf.index: json.loads(leaf.event) for leaf in log.leaves()}
        for first, who, n, count in returned:
            for part in range(count):
                event = events[first + part]
                assert (event["who"], event["n"], event["part"]) == (who, n, part)
    finally:
        store.close()
