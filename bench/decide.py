"""Decision latency: watchkeeper vs. Microsoft's Agent Governance Toolkit vs. a Python floor.

Equivalent rules in all three: rule *i* matches tool ``tool_i`` and the condition
``amount > 100`` and decides deny / ask / allow in turn; one more rule asks for approval when a
``refund`` is over 100. The measured action is ``refund`` with ``{"amount": 150, "order": "A-1"}``
in ``prod``, a declared tool (``refund: {verb: transfer, target: money, amount: input.amount}``).
watchkeeper is measured end to end through ``Gateway.decide`` with the action's JSON form:
validation, environment, digest, the declared-tool analyzer, the index and CEL.
"""

from __future__ import annotations

import json
import random
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import load_text

DECISIONS = ("deny", "ask", "allow")
ACTION = {
    "agent": "support-bot",
    "tool": "refund",
    "environment": "prod",
    "input": {"amount": 150, "order": "A-1"},
}


def orders_yaml(n: int) -> str:
    rules = [
        f"  - {{name: rule-{i}, match: {{tool: tool_{i}}}, when: 'input.amount > 100', "
        f"decision: {DECISIONS[i % 3]}}}"
        for i in range(n)
    ]
    rules.append(
        "  - {name: refund-approval, match: {tool: refund}, when: 'input.amount > 100', "
        "decision: ask}"
    )
    return (
        "environments: {prod: {default: allow}}\n"
        "tools:\n  refund: {verb: transfer, target: money, amount: input.amount}\n"
        "rules:\n" + "\n".join(rules) + "\n"
    )


def watchkeeper_decider(n: int) -> Callable[[Any], object]:
    gateway = Gateway(load_text(orders_yaml(n), f"bench-{n}.yaml"))
    decision = gateway.decide(ACTION)
    if decision.decision != "ask" or decision.rules != ("refund-approval",):
        raise RuntimeError(f"watchkeeper decided wrongly: {decision.to_json()}")
    return gateway.decide


def evaluate_only_decider(n: int) -> Callable[[Any], object]:
    """Only the rule evaluation (index, charter, CEL, combining) on an already analyzed action."""
    from watchkeeper.models import Action
    from watchkeeper.orders.evaluate import decide

    gateway = Gateway(load_text(orders_yaml(n), f"bench-{n}.yaml"))
    action = Action.from_json(ACTION)
    placement = gateway.inventory.place(action)
    effects = gateway.analyze(action)
    orders = gateway.orders
    if decide(orders, action, effects, placement).decision != "ask":
        raise RuntimeError("evaluation decided wrongly")
    return lambda _: decide(orders, action, effects, placement)


def varied_actions(n: int, count: int = 10_000) -> list[dict[str, Any]]:
    rng = random.Random(n)
    out = []
    for _ in range(count):
        tool = rng.choice(["refund", f"tool_{rng.randrange(n)}", "lookup"])
        out.append({**ACTION, "tool": tool, "input": {"amount": rng.randrange(200), "order": "x"}})
    return out


def floor_decider(n: int) -> Callable[[Any], object]:
    """Hand-written closures with a dict index: the fastest Python can decide these rules."""
    by_tool: dict[str, list[tuple[Callable[[dict[str, Any]], bool], str]]] = {}
    for i in range(n):
        by_tool.setdefault(f"tool_{i}", []).append((lambda a: a["amount"] > 100, DECISIONS[i % 3]))
    by_tool.setdefault("refund", []).append((lambda a: a["amount"] > 100, "ask"))
    rank = {"allow": 0, "ask": 1, "deny": 2}

    def decide(action: dict[str, Any]) -> str:
        result = "allow"
        for condition, decision in by_tool.get(action["tool"], ()):
            if condition(action["input"]) and rank[decision] > rank[result]:
                result = decision
        return result

    if decide(ACTION) != "ask":
        raise RuntimeError("floor decided wrongly")
    return decide


def toolkit_decider(n: int) -> Callable[[Any], object] | str:
    """The Toolkit's ``PolicyEngine`` with the same rules; a string says why it is unavailable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its packages warn about their own renames on import
            import yaml
            from agentmesh.governance import PolicyEngine
    except ImportError as exc:
        return f"not installed ({exc}); `pip install -e '.[bench]'`"
    rules = [
        {
            "name": f"rule-{i}",
            "condition": f"tool_name == 'tool_{i}' and args.amount > 100",
            "action": {"deny": "deny", "ask": "require_approval", "allow": "allow"}[
                DECISIONS[i % 3]
            ],
        }
        for i in range(n)
    ]
    rules.append(
        {
            "name": "refund-approval",
            "condition": "tool_name == 'refund' and args.amount > 100",
            "action": "require_approval",
        }
    )
    engine = PolicyEngine()
    engine.load_yaml(
        yaml.safe_dump(
            {
                "apiVersion": "governance.toolkit/v1",
                "name": f"bench-{n}",
                "agents": ["*"],
                "default_action": "allow",
                "rules": rules,
            }
        )
    )

    def decide(action: dict[str, Any]) -> object:
        return engine.evaluate(
            "did:agentmesh:bench", {"tool_name": action["tool"], "args": action["input"]}
        )

    result = decide(ACTION)
    if getattr(result, "action", None) != "require_approval":
        raise RuntimeError(f"Toolkit decided wrongly: {result!r}")
    return decide


BUILTIN_ACTIONS: list[tuple[str, dict[str, Any]]] = [
    (
        "Read a file, claimed prod",
        {"agent": "coder", "tool": "Read", "environment": "prod",
         "input": {"file_path": "/srv/app/main.py"}},
    ),
    (
        "Edit a file, no environment (judged on the workstation)",
        {"agent": "coder", "tool": "Edit",
         "input": {"file_path": "/home/me/src/app.py", "old_string": "a", "new_string": "b",
                   "cwd": "/home/me/src"}},
    ),
    (
        "A shell command, no environment: pytest (routine)",
        {"agent": "coder", "tool": "Bash", "input": {"command": "pytest -x -q tests/"}},
    ),
    (
        "A shell command, claimed dev, on /etc (judged in dev and on the workstation)",
        {"agent": "coder", "tool": "Bash", "environment": "dev",
         "input": {"command": "rm -r -f /etc/nginx"}},
    ),
    (
        "Write the hook settings, claimed dev (denied)",
        {"agent": "coder", "tool": "Write", "environment": "dev",
         "input": {"file_path": "/repo/.claude/settings.json", "content": "{}"}},
    ),
    (
        "Unknown tool in prod (asks)",
        {"agent": "infra-bot", "tool": "mystery", "environment": "prod", "input": {"x": 1}},
    ),
]  # fmt: skip


def builtin_decider() -> Callable[[Any], object]:
    """The gateway over the built-in default orders."""
    from watchkeeper.orders.loader import builtin

    return Gateway(builtin()).decide


CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def corpus_actions(name: str, tool: str, key: str) -> list[dict[str, Any]] | str:
    """Actions built from a peer corpus file, or why there are none."""
    path = CORPUS / name
    if not path.exists():
        return f"{path.name} not found beside the repository"
    actions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        extra = {"dialect": row["dialect"]} if "dialect" in row else {}
        actions.append({"tool": tool, "environment": "prod", "input": {key: row["text"], **extra}})
    return actions
