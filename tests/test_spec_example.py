"""The example in SPEC §5 is a contract: it must load unchanged and decide as its comments say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED, need_shared
from watchkeeper.analyzers import Registry
from watchkeeper.decision import Decision
from watchkeeper.gateway import Gateway
from watchkeeper.models import Effect, Target
from watchkeeper.orders.loader import load
from watchkeeper.orders.model import StandingOrders
from watchkeeper.testing import FixedAnalyzer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "infra" / "watchkeeper.yaml"
SPEC = SHARED / "SPEC.md"


@pytest.fixture(scope="module")
def orders() -> StandingOrders:
    return load(EXAMPLE)


def gateway(orders: StandingOrders, tool: str | None = None, *effects: Effect) -> Gateway:
    registry = Registry()
    if tool is not None:
        registry.register(FixedAnalyzer(*effects, name=f"test-{tool}"), tools=[tool])
    return Gateway(orders, registry)


def text(decision: Decision) -> str:
    return "\n".join(decision.reasons)


def test_the_example_is_the_spec_block_byte_for_byte() -> None:
    need_shared(SPEC)
    blocks = re.findall(r"```yaml\n(.*?)```", SPEC.read_text(encoding="utf-8"), re.S)
    assert blocks, "SPEC.md has no ```yaml block"
    assert EXAMPLE.read_text(encoding="utf-8") == blocks[0]


def test_the_example_loads_with_everything_it_declares(orders: StandingOrders) -> None:
    assert list(orders.environments) == ["prod", "staging", "dev"]
    assert set(orders.agents) == {"infra-bot", "support-bot"}
    assert set(orders.tools) == {"refund", "lookup_order", "send_email"}
    assert [r.name for r in orders.rules] == [
        "prod-irreversible-needs-two-sre",
        "no-obfuscated-shell",
    ]


@pytest.mark.parametrize(
    ("env", "decision"),
    [("prod", "ask"), ("staging", "ask"), ("dev", "allow")],
    ids=["no-rule-matched-asks-in-prod", "staging-asks", "allows-in-dev"],
)
def test_environment_defaults(orders: StandingOrders, env: str, decision: str) -> None:
    d = gateway(orders).decide({"tool": "lookup_order", "input": {}, "environment": env})
    assert d.decision == decision
    assert d.rules == ()
    assert d.environment == env


DELETE_DB = "terraform"


@pytest.mark.parametrize(
    ("verb", "reversible"),
    [("delete", "no"), ("delete", "unknown"), ("overwrite", "no"), ("overwrite", "unknown")],
    ids=["delete-irreversible", "delete-unknown", "overwrite-irreversible", "overwrite-unknown"],
)
def test_irreversible_prod_change_needs_two_sre(
    orders: StandingOrders, verb: str, reversible: str
) -> None:
    effect = Effect(verb=verb, target=Target("cloud_resource", "db-main"), reversible=reversible)
    d = gateway(orders, DELETE_DB, effect).decide(
        {"agent": "infra-bot", "tool": DELETE_DB, "input": {"plan": "x"}, "environment": "prod"}
    )
    assert d.decision == "ask"
    assert d.rules == ("prod-irreversible-needs-two-sre",)
    (req,) = d.approvals  # the prod default adds no second requirement
    assert (req.rule, req.group, req.quorum) == ("prod-irreversible-needs-two-sre", "sre", 2)
    assert req.timeout_seconds == 30 * 60
    assert req.on_timeout == "deny"
    assert [(e.after_seconds, e.to) for e in req.escalate] == [(10 * 60, "sre-leads")]
    assert len(d.instructions) == 1
    assert "Snapshot first" in d.instructions[0]
    assert "snapshot id" in d.instructions[0]


@pytest.mark.parametrize(
    ("verb", "reversible", "env", "decision"),
    [
        ("delete", "yes", "prod", "ask"),
        ("update", "no", "prod", "ask"),
        ("delete", "no", "dev", "allow"),
        ("delete", "no", "staging", "ask"),
    ],
    ids=["reversible-delete-in-prod", "update-in-prod", "delete-in-dev", "delete-in-staging"],
)
def test_the_two_sre_rule_leaves_other_changes_to_the_defaults(
    orders: StandingOrders, verb: str, reversible: str, env: str, decision: str
) -> None:
    effect = Effect(verb=verb, target=Target("cloud_resource", "db-main"), reversible=reversible)
    d = gateway(orders, DELETE_DB, effect).decide(
        {"agent": "infra-bot", "tool": DELETE_DB, "input": {}, "environment": env}
    )
    assert d.decision == decision
    assert d.rules == ()
    assert all(a.group != "sre" for a in d.approvals)


@pytest.mark.parametrize(
    ("flags", "env", "decision", "rules"),
    [
        ({"obfuscated"}, "dev", "deny", ("no-obfuscated-shell",)),
        ({"obfuscated"}, "prod", "deny", ("no-obfuscated-shell",)),
        (set(), "dev", "allow", ()),
        (set(), "prod", "ask", ()),
        ({"dynamic"}, "dev", "allow", ()),
    ],
    ids=["obfuscated-dev", "obfuscated-prod", "plain-dev", "plain-prod", "other-flag-dev"],
)
def test_obfuscated_shell_is_denied(
    orders: StandingOrders, flags: set[str], env: str, decision: str, rules: tuple[str, ...]
) -> None:
    effect = Effect(verb="execute", target=Target("process"), flags=frozenset(flags))
    d = gateway(orders, "shell", effect).decide(
        {"agent": "infra-bot", "tool": "shell", "input": {"command": "x"}, "environment": env}
    )
    assert (d.decision, d.rules) == (decision, rules), d.reasons


def support(tool: str, env: str = "prod", kind: str = "refund", **input_: Any) -> dict[str, Any]:
    return {
        "agent": "support-bot",
        "tool": tool,
        "input": input_,
        "environment": env,
        "intent": {"kind": kind, "goal": "resolve the customer's case"},
    }


def test_refund_within_charter_falls_to_the_prod_default(orders: StandingOrders) -> None:
    d = gateway(orders).decide(support("refund", amount=50))
    assert d.decision == "ask"
    assert not any("charter" in r for r in d.reasons), d.reasons
    assert any("prod" in r for r in d.reasons)
    assert all("dana@example.com" not in a.users for a in d.approvals)
    assert d.effects[0].attributes == {"amount": 50}
    # In dev, where nothing asks, the same refund runs on its own.
    assert gateway(orders).decide(support("refund", env="dev", amount=50)).decision == "allow"


@pytest.mark.parametrize(
    ("action", "mention"),
    [
        (support("refund", amount=150), "100"),
        (support("delete_account", customer="c-1"), "delete_account"),
        (support("refund", kind="chargeback", amount=50), "chargeback"),
    ],
    ids=["refund-over-limit", "tool-outside-charter", "intent-outside-charter"],
)
@pytest.mark.parametrize("env", ["prod", "dev"])
def test_outside_the_charter_hands_the_case_to_dana(
    orders: StandingOrders, action: dict[str, Any], mention: str, env: str
) -> None:
    d = gateway(orders).decide({**action, "environment": env})
    assert d.decision == "ask"
    assert any(a.users == ("dana@example.com",) for a in d.approvals), d.approvals
    assert mention in text(d)
    assert "support-bot" in text(d)


def test_infra_bot_in_an_undeclared_environment_is_judged_strictest(
    orders: StandingOrders,
) -> None:
    effect = Effect(verb="delete", target=Target("cloud_resource", "vpc-1"), reversible="unknown")
    action = {"agent": "infra-bot", "tool": DELETE_DB, "input": {}, "environment": "prod-eu"}
    assert gateway(orders, DELETE_DB, effect).decide({**action, "environment": "dev"}).allowed
    d = gateway(orders, DELETE_DB, effect).decide(action)
    assert d.decision == "ask"
    assert d.environment is None
    assert d.rules == ("prod-irreversible-needs-two-sre",)
    assert any(a.group == "sre" and a.quorum == 2 for a in d.approvals)
    assert "prod-eu" in text(d)

    plain = gateway(orders).decide({**action, "tool": "shell"})
    assert plain.decision == "ask"  # prod's default, not dev's allow
