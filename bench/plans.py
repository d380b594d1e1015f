"""A 10,000-change Terraform plan, analyzed and decided (target: ≤ 1 s).

The plan mixes what real large plans hold: updates of stateless resources, stateful deletes
(databases without a final snapshot, buckets with ``force_destroy``), replacements in both
orders, security-group updates opening ports, and reads. It is decided end to end through
``Gateway.decide`` with the built-in orders in ``prod``: JSON validation, the plan analyzer,
placement, the summary for the handoff and the decision.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from watchkeeper.analyzers.terraform import plan_effects
from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import builtin

CHANGES = 10_000
ROUNDS = 5


def _change(i: int) -> dict[str, Any]:
    shape = i % 10
    kind, actions, before, after = "aws_instance", ["update"], {"ami": "a"}, {"ami": "b"}
    if shape == 0:
        kind, actions, before = "aws_db_instance", ["delete"], {"skip_final_snapshot": True}
        after = None
    elif shape == 1:
        kind, actions, before = "aws_s3_bucket", ["delete"], {"force_destroy": True}
        after = None
    elif shape == 2:
        actions = ["delete", "create"]
    elif shape == 3:
        actions = ["create", "delete"]
    elif shape == 4:
        kind = "aws_security_group"
        after = {"ingress": [{"cidr_blocks": ["0.0.0.0/0"], "from_port": 22, "to_port": 22}]}
    elif shape == 5:
        actions = ["no-op"]
    return {
        "address": f"{kind}.r{i}",
        "mode": "managed",
        "type": kind,
        "change": {"actions": actions, "before": before, "after": after},
    }


def plan(changes: int = CHANGES) -> dict[str, Any]:
    return {"format_version": "1.2", "resource_changes": [_change(i) for i in range(changes)]}


def _seconds(run: Any) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def section() -> str:
    """The plan section of bench/RESULTS.md."""
    big = plan()
    gateway = Gateway(builtin())
    action = {"tool": "terraform", "environment": "prod", "input": {"plan": big}}
    decision = gateway.decide(action)
    analyze = _seconds(lambda: plan_effects(big))
    decide = _seconds(lambda: gateway.decide(action))
    deletes = sum(1 for e in decision.effects if e.verb == "delete")
    verdict = "met" if decide <= 1.0 else "MISSED"
    return f"""## A {CHANGES:,}-change Terraform plan (`bench/plans.py`)

{(__doc__ or "").split(chr(10), 2)[2].strip()}

| step | median of {ROUNDS} |
|---|---|
| analyze the plan (effects only) | {analyze * 1000:,.0f} ms |
| decide the action (`Gateway.decide`) | {decide * 1000:,.0f} ms |

Decision: `{decision.decision}` by {", ".join(decision.rules) or "the default"}; {deletes:,}
delete effects. Target ≤ 1 s: **{verdict}**.
"""
