"""Deciding an action through the gateway (SPEC §5): combining rules, charters, fail-closed paths.

Every test loads real standing orders from a file and submits action JSON to a real ``Gateway``.
"""

from __future__ import annotations

import math
import textwrap
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.analyzers import Limits, Registry
from watchkeeper.decision import DECISIONS, RESTRICTIVENESS, Decision
from watchkeeper.gateway import Gateway
from watchkeeper.models import Action, Effect, Target
from watchkeeper.orders.cel import compile_expression, evaluate
from watchkeeper.orders.loader import load
from watchkeeper.orders.model import StandingOrders
from watchkeeper.testing import FixedAnalyzer

OrdersFrom = Callable[[str], StandingOrders]


class Crashing:
    name = "crashing"

    def analyze(self, action: Action) -> list[Effect]:
        raise RuntimeError("parser exploded on purpose")


class Returns:
    """A test analyzer that returns whatever it is given, Effect or not."""

    def __init__(self, value: Any) -> None:
        self.name = "garbage"
        self.value = value

    def analyze(self, action: Action) -> Any:
        return self.value


class Slow:
    name = "slow"

    def analyze(self, action: Action) -> list[Effect]:
        time.sleep(0.1)  # past 4 × a 10 ms budget on the clock
        return [Effect(verb="read", target=Target("file"))]


def effect(verb: str, kind: str, **kw: Any) -> Effect:
    return Effect(verb=verb, target=Target(kind), **kw)


def gateway_with(
    orders: StandingOrders, tool: str, analyzer: Any, limits: Limits | None = None
) -> Gateway:
    registry = Registry(limits)
    registry.register(analyzer, tools=[tool])
    return Gateway(orders, registry)


def reasons_text(decision: Decision) -> str:
    return "\n".join(decision.reasons)


# --- combining rules ----------------------------------------------------------------------------

COMBINING = """
environments:
  prod: {default: ask}
  staging: {default: ask}
  dev: {default: allow}
groups:
  sre: [alice@example.com, bob@example.com]
  dba: [carol@example.com]
rules:
  - name: allow-small
    match: {tool: pay}
    when: "input.amount < 10"
    decision: allow
  - name: ask-sre-medium
    match: {tool: pay}
    when: "input.amount >= 5"
    decision: ask
    approvers: {group: sre, quorum: 2}
    timeout: 30m
    instructions: "Check the ledger first."
  - name: ask-dba-flagged
    match: {tool: pay}
    when: "has(input.flagged) && input.flagged == true"
    decision: ask
    approvers: {group: dba}
    instructions: "Tell the DBA why."
  - name: deny-huge
    match: {tool: pay}
    when: "input.amount > 1000"
    decision: deny
  - name: deny-drop-in-prod
    match: {tool: drop, environment: prod}
    decision: deny
  - name: deny-prod-effects
    match: {tool: touch}
    when: "effects.exists(e, e.environment == 'prod')"
    decision: deny
"""


@pytest.fixture
def combining(orders_from: OrdersFrom) -> Gateway:
    return Gateway(orders_from(COMBINING))


@pytest.mark.parametrize(
    ("input_", "env", "decision", "rules", "approvals"),
    [
        ({"amount": 1}, "dev", "allow", {"allow-small"}, []),
        ({"amount": 1}, "prod", "allow", {"allow-small"}, []),
        ({"amount": 7}, "dev", "ask", {"allow-small", "ask-sre-medium"}, ["ask-sre-medium"]),
        (
            {"amount": 50, "flagged": True},
            "dev",
            "ask",
            {"ask-sre-medium", "ask-dba-flagged"},
            ["ask-sre-medium", "ask-dba-flagged"],
        ),
        (
            {"amount": 5000, "flagged": True},
            "dev",
            "deny",
            {"ask-sre-medium", "ask-dba-flagged", "deny-huge"},
            None,
        ),
    ],
    ids=[
        "allow-rule-only",
        "allow-rule-beats-prod-default",
        "ask-beats-allow",
        "two-asks-both-required",
        "deny-beats-ask",
    ],
)
def test_every_matching_rule_counts_and_the_most_restrictive_wins(
    combining: Gateway,
    input_: dict[str, Any],
    env: str,
    decision: str,
    rules: set[str],
    approvals: list[str] | None,
) -> None:
    d = combining.decide({"tool": "pay", "input": input_, "environment": env})
    assert d.decision == decision, d.reasons
    assert set(d.rules) == rules
    for rule in rules:
        assert any(rule in r for r in d.reasons), (rule, d.reasons)
    if approvals is not None:
        assert [a.rule for a in d.approvals] == approvals


def test_each_asking_rule_adds_its_approval_requirement(combining: Gateway) -> None:
    d = combining.decide(
        {"tool": "pay", "input": {"amount": 50, "flagged": True}, "environment": "prod"}
    )
    assert d.decision == "ask"
    by_rule = {a.rule: a for a in d.approvals}
    assert set(by_rule) == {"ask-sre-medium", "ask-dba-flagged"}  # the prod default adds nothing
    assert (by_rule["ask-sre-medium"].group, by_rule["ask-sre-medium"].quorum) == ("sre", 2)
    assert by_rule["ask-sre-medium"].timeout_seconds == 1800
    assert (by_rule["ask-dba-flagged"].group, by_rule["ask-dba-flagged"].quorum) == ("dba", 1)
    assert set(d.instructions) == {"Check the ledger first.", "Tell the DBA why."}


@pytest.mark.parametrize(
    ("env", "decision"),
    [("prod", "ask"), ("staging", "ask"), ("dev", "allow")],
    ids=["prod-asks", "staging-asks", "dev-allows"],
)
def test_no_rule_matched_takes_the_environment_default(
    combining: Gateway, env: str, decision: str
) -> None:
    d = combining.decide({"tool": "lookup", "environment": env})
    assert d.decision == decision
    assert d.rules == ()
    assert d.environment == env
    assert any(env in r and decision in r for r in d.reasons), d.reasons
    if decision == "ask":
        assert len(d.approvals) == 1
    else:
        assert d.approvals == ()


@pytest.mark.parametrize(
    "claim", [None, "qa", "PROD", "prod "], ids=["none", "undeclared", "wrong-case", "padded"]
)
def test_unknown_environment_takes_the_strictest_default(combining: Gateway, claim: Any) -> None:
    action: dict[str, Any] = {"tool": "lookup"}
    if claim is not None:
        action["environment"] = claim
    d = combining.decide(action)
    assert d.decision == "ask"
    assert d.environment is None
    assert len(d.approvals) == 1  # one default requirement, not one per environment
    assert any("every declared environment" in r for r in d.reasons), d.reasons


UNKNOWN_ENV_CASES = [
    ({"tool": "lookup"}, "default-only"),
    ({"tool": "drop"}, "rule-selected-on-prod"),
    ({"tool": "pay", "input": {"amount": 7}}, "conditions"),
    ({"tool": "touch"}, "effect-environment-condition"),
]


@pytest.mark.parametrize(
    "action", [a for a, _ in UNKNOWN_ENV_CASES], ids=[i for _, i in UNKNOWN_ENV_CASES]
)
@pytest.mark.parametrize("claim", [None, "qa"], ids=["no-claim", "undeclared-claim"])
def test_unknown_environment_is_never_laxer_than_any_declared_one(
    combining: Gateway, action: dict[str, Any], claim: str | None
) -> None:
    unknown = combining.decide({**action, "environment": claim})
    for env in ("prod", "staging", "dev"):
        known = combining.decide({**action, "environment": env})
        assert RESTRICTIVENESS[unknown.decision] >= RESTRICTIVENESS[known.decision], (
            f"unknown environment decided {unknown.decision} but {env} decides {known.decision}",
            unknown.reasons,
        )


def test_a_prod_only_rule_applies_to_an_unknown_environment(combining: Gateway) -> None:
    assert combining.decide({"tool": "drop", "environment": "dev"}).decision == "allow"
    d = combining.decide({"tool": "drop", "environment": "nowhere"})
    assert d.decision == "deny"
    assert d.rules == ("deny-drop-in-prod",)


# --- charters -----------------------------------------------------------------------------------

CHARTERS = """
environments:
  prod: {default: ask}
  dev: {default: allow}
  sandbox: {default: allow}
groups:
  sre: [alice@example.com, bob@example.com]
agents:
  support-bot:
    owner: dana@example.com
    charter:
      tools: [refund, lookup_order, payout]
      environments: [dev, prod]
      intents: [refund, order_status]
      limits: {refund.amount: 100, payout.amount: 100}
  careful-bot:
    owner: erin@example.com
    charter: {tools: [lookup_order]}
    outside_charter: deny
  loose-bot:
    owner: frank@example.com
tools:
  refund: {verb: transfer, target: money, amount: "input.amount"}
  payout: {verb: transfer, target: money, amount: "input.cents / 100"}
  lookup_order: {verb: read, target: order}
rules:
  - name: prod-refunds-need-sre
    match: {tool: refund, environment: prod}
    decision: ask
    approvers: {group: sre}
"""


@pytest.fixture
def charters(orders_from: OrdersFrom) -> Gateway:
    return Gateway(orders_from(CHARTERS))


def support(tool: str = "refund", env: str = "dev", kind: str | None = "refund", **input_: Any):
    action: dict[str, Any] = {
        "agent": "support-bot",
        "tool": tool,
        "input": input_,
        "environment": env,
    }
    if kind is not None:
        action["intent"] = {"kind": kind, "goal": "help the customer"}
    return action


@pytest.mark.parametrize(
    ("action", "mention"),
    [
        (support(amount=150), "100"),
        (support(amount=100.5), "100"),
        (support("delete_account"), "delete_account"),
        (support(env="sandbox", amount=5), "sandbox"),
        (support(kind="chargeback", amount=5), "chargeback"),
        (support(kind=None, amount=5), "intent"),
        (support("payout", cents=15000, amount=1), "150"),
    ],
    ids=[
        "over-limit",
        "fractionally-over-limit",
        "tool-outside",
        "environment-outside",
        "intent-outside",
        "no-intent-kind",
        "declared-attribute-over-limit",
    ],
)
def test_outside_the_charter_asks_its_owner(
    charters: Gateway, action: dict[str, Any], mention: str
) -> None:
    d = charters.decide(action)
    assert d.decision == "ask", d.reasons
    assert any(a.users == ("dana@example.com",) for a in d.approvals), d.approvals
    assert mention in reasons_text(d)
    assert "support-bot" in reasons_text(d)


@pytest.mark.parametrize(
    "amount", ["50", True, None, {"value": 50}], ids=["string", "boolean", "null", "object"]
)
def test_a_limit_that_cannot_be_checked_is_never_within_the_charter(
    charters: Gateway, amount: Any
) -> None:
    d = charters.decide(support(amount=amount))
    assert d.decision == "ask", d.reasons
    assert "limit refund.amount cannot be checked: the action has no numeric amount" in (
        reasons_text(d)
    )


@pytest.mark.parametrize(
    "action",
    [
        support(amount=50),
        support(amount=100),
        support("lookup_order", kind="order_status"),
        support("payout", cents=5000, amount=999),
    ],
    ids=["under-limit", "at-limit", "other-tool-and-intent", "limit-reads-declared-attribute"],
)
def test_inside_the_charter_falls_to_rules_and_defaults(
    charters: Gateway, action: dict[str, Any]
) -> None:
    d = charters.decide(action)
    assert d.decision == "allow", d.reasons
    assert d.approvals == ()
    assert not any("charter" in r for r in d.reasons), d.reasons


def test_charter_and_rule_requirements_are_both_required(charters: Gateway) -> None:
    d = charters.decide(support(env="prod", amount=150))
    assert d.decision == "ask"
    assert any(a.users == ("dana@example.com",) for a in d.approvals)
    assert any(a.rule == "prod-refunds-need-sre" and a.group == "sre" for a in d.approvals)
    assert "prod-refunds-need-sre" in d.rules


def test_outside_charter_deny_is_honoured(charters: Gateway) -> None:
    inside = charters.decide({"agent": "careful-bot", "tool": "lookup_order", "environment": "dev"})
    assert inside.decision == "allow"
    d = charters.decide({"agent": "careful-bot", "tool": "wipe", "environment": "dev"})
    assert d.decision == "deny"
    assert "careful-bot" in reasons_text(d)
    assert "wipe" in reasons_text(d)


@pytest.mark.parametrize(
    "agent",
    [None, "loose-bot"],
    ids=["no-agent", "agent-without-charter"],
)
@pytest.mark.parametrize(
    ("env", "decision"), [("dev", "allow"), ("prod", "ask")], ids=["dev", "prod"]
)
def test_without_a_charter_the_rules_alone_decide(
    charters: Gateway, agent: str | None, env: str, decision: str
) -> None:
    action: dict[str, Any] = {"tool": "wipe", "environment": env, "intent": {"kind": "anything"}}
    if agent is not None:
        action["agent"] = agent
    d = charters.decide(action)
    assert d.decision == decision
    assert not any("charter" in r for r in d.reasons), d.reasons
    assert all(not a.rule.startswith("charter:") for a in d.approvals)


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("agent", ["ghost-bot", "loose-bot ", "LOOSE-BOT"])
def test_an_undeclared_agent_name_is_never_judged_more_leniently_than_ask(
    charters: Gateway, agent: str, env: str
) -> None:
    d = charters.decide({"agent": agent, "tool": "wipe", "environment": env})
    assert d.decision in ("ask", "deny")
    assert any(f"agent {agent!r} is not declared" in r for r in d.reasons), d.reasons


def test_declared_tool_effects_reach_the_decision(charters: Gateway) -> None:
    d = charters.decide(support(amount=42))
    assert len(d.effects) == 1
    (e,) = d.effects
    assert (e.verb, e.target.kind, e.environment) == ("transfer", "money", "dev")
    assert e.attributes["amount"] == 42


# --- selectors ----------------------------------------------------------------------------------

SELECTORS = """
environments:
  prod: {default: ask}
  staging: {default: allow}
  dev: {default: allow}
tools:
  chmod: {verb: grant, target: file}
  drop_table: {verb: delete, target: db_table}
  delete_file: {verb: delete, target: file}
rules:
  - {name: by-tool, match: {tool: rm}, decision: deny}
  - {name: by-tool-glob, match: {tool: "mcp__*"}, decision: deny}
  - {name: by-environment, match: {tool: deploy, environment: staging}, decision: deny}
  - {name: by-agent, match: {tool: ping, agent: ops-bot}, decision: deny}
  - {name: by-agent-glob, match: {tool: ping, agent: "*-intern"}, decision: deny}
  - {name: by-verb, match: {verb: grant}, decision: deny}
  - {name: by-verb-and-target, match: {verb: delete, target: db_table}, decision: deny}
  - name: guarded-by-selector
    match: {tool: never}
    when: "1 / input.zero == 1"
    decision: deny
"""


@pytest.fixture
def selectors(orders_from: OrdersFrom) -> StandingOrders:
    return orders_from(SELECTORS)


def dev(tool: str, **fields: Any) -> dict[str, Any]:
    return {"tool": tool, "environment": "dev", **fields}


@pytest.mark.parametrize(
    ("action", "rule"),
    [
        (dev("rm"), "by-tool"),
        (dev("rmdir"), None),
        (dev("mcp__fs__write"), "by-tool-glob"),
        (dev("mcp_fs"), None),
        ({"tool": "deploy", "environment": "staging"}, "by-environment"),
        (dev("deploy"), None),
        (dev("ping", agent="ops-bot"), "by-agent"),
        (dev("ping", agent="ops-bot-2"), None),
        (dev("ping", agent="sam-intern"), "by-agent-glob"),
        (dev("ping"), None),
        (dev("chmod"), "by-verb"),
        (dev("drop_table"), "by-verb-and-target"),
        (dev("delete_file"), None),
        (dev("never", input={"zero": 0}), "guarded-by-selector"),
        (dev("other", input={"zero": 0}), None),
    ],
    ids=[
        "tool",
        "tool-prefix-is-not-a-match",
        "tool-glob",
        "tool-glob-miss",
        "environment",
        "other-environment",
        "agent",
        "agent-prefix-is-not-a-match",
        "agent-glob",
        "no-agent",
        "verb",
        "verb-and-target",
        "verb-without-target",
        "candidate-condition-runs",
        "non-candidate-condition-never-runs",
    ],
)
def test_selectors_pick_the_candidate_rules(
    selectors: StandingOrders, action: dict[str, Any], rule: str | None
) -> None:
    d = Gateway(selectors).decide(action)
    if rule is None:
        assert d.decision == "allow", d.reasons
        assert d.rules == ()
    else:
        assert d.decision == "deny", d.reasons
        assert d.rules == (rule,)


def test_verb_and_target_must_hold_for_the_same_effect(selectors: StandingOrders) -> None:
    split = FixedAnalyzer(effect("delete", "file"), effect("read", "db_table"))
    d = gateway_with(selectors, "tf", split).decide(dev("tf"))
    assert d.decision == "allow", d.reasons
    both = FixedAnalyzer(effect("read", "file"), effect("delete", "db_table"))
    d = gateway_with(selectors, "tf", both).decide(dev("tf"))
    assert d.decision == "deny"
    assert d.rules == ("by-verb-and-target",)


# --- CEL runtime errors fail closed, per rule ---------------------------------------------------

CEL_ERRORS = """
environments:
  dev: {default: allow}
rules:
  - {name: over-100, match: {tool: pay}, when: "input.amount > 100", decision: deny}
  - {name: few-items, match: {tool: pay}, when: "input.count < 3", decision: ask}
  - {name: ratio, match: {tool: calc}, when: "10 / input.d == 5", decision: allow}
  - {name: positive, match: {tool: calc}, when: "input.x > 0", decision: ask}
  - {name: string-vs-int, match: {tool: cmp}, when: "input.s > 3", decision: allow}
  - {name: not-a-boolean, match: {tool: nb}, when: "input.v", decision: allow}
  - {name: nb-sibling, match: {tool: nb}, when: "has(input.w)", decision: ask}
"""


@pytest.fixture
def cel_errors(orders_from: OrdersFrom) -> Gateway:
    return Gateway(orders_from(CEL_ERRORS))


@pytest.mark.parametrize(
    ("action", "failing", "working"),
    [
        (dev("pay", input={"count": 1}), "over-100", "few-items"),
        (dev("calc", input={"d": 0, "x": 1}), "ratio", "positive"),
        (dev("cmp", input={"s": "a"}), "string-vs-int", None),
        (dev("nb", input={"v": 3, "w": 1}), "not-a-boolean", "nb-sibling"),
    ],
    ids=["missing-field", "divide-by-zero", "string-compared-to-int", "non-boolean-result"],
)
def test_a_condition_error_denies_naming_the_rule_and_others_still_work(
    cel_errors: Gateway, action: dict[str, Any], failing: str, working: str | None
) -> None:
    d = cel_errors.decide(action)
    assert d.decision == "deny"
    assert failing in d.rules
    assert any(failing in r and "error" in r.lower() for r in d.reasons), d.reasons
    if working is not None:
        assert working in d.rules  # its condition was true and was still evaluated
        assert not any(working in r and "error" in r.lower() for r in d.reasons)


@pytest.mark.parametrize(
    ("action", "decision", "rules"),
    [
        (dev("pay", input={"amount": 5, "count": 1}), "ask", ("few-items",)),
        (dev("pay", input={"amount": 500, "count": 9}), "deny", ("over-100",)),
        (dev("calc", input={"d": 2, "x": 0}), "allow", ("ratio",)),
        (dev("nb", input={"v": True}), "allow", ("not-a-boolean",)),
    ],
    ids=["ask", "deny", "allow", "boolean-from-dynamic"],
)
def test_conditions_without_errors_decide_normally(
    cel_errors: Gateway, action: dict[str, Any], decision: str, rules: tuple[str, ...]
) -> None:
    d = cel_errors.decide(action)
    assert (d.decision, d.rules) == (decision, rules), d.reasons


COMMENTED = """
environments:
  dev: {default: allow}
rules:
  - name: big
    match: {tool: pay}
    when: "input.a > 3 // large amounts need a person"
    decision: deny
  - name: negative
    match: {tool: pay}
    when: "input.a < 0"
    decision: ask
"""


@pytest.mark.parametrize(
    ("amount", "decision", "rules"),
    [(5, "deny", ("big",)), (-1, "ask", ("negative",)), (1, "allow", ())],
    ids=["first-true", "second-true", "none-true"],
)
def test_a_condition_ending_in_a_cel_comment_combines_with_others(
    orders_from: OrdersFrom, amount: int, decision: str, rules: tuple[str, ...]
) -> None:
    # Each condition compiles alone; combined into one program they must mean the same.
    d = Gateway(orders_from(COMMENTED)).decide(dev("pay", input={"a": amount}))
    assert (d.decision, d.rules) == (decision, rules), d.reasons


# --- the combined program equals one-by-one evaluation ------------------------------------------

POOL = [
    ("input.a > 3", "deny"),
    ("input.b < input.a", "ask"),
    ("input.s == 'x'", "allow"),
    ("has(input.c) && input.c", "ask"),
    ("input.a % 2 == 0", "allow"),
    ("10 / input.b > 1", "deny"),
    ("input.s.startsWith('a')", "ask"),
    ("env == 'prod' || input.a == 0", "allow"),
]


def pool_orders() -> str:
    lines = ["environments:", "  prod: {default: ask}", "  dev: {default: allow}", "rules:"]
    for i, (when, decision) in enumerate(POOL):
        pattern = "t-" + "?" * i + "1*"  # rule i is a candidate when the tool's bit i is 1
        lines += [
            f"  - name: c{i}",
            f'    match: {{tool: "{pattern}"}}',
            f'    when: "{when}"',
            f"    decision: {decision}",
        ]
    return "\n".join(lines) + "\n"


def naive(
    bits: Sequence[bool], input_: dict[str, Any], env: str
) -> tuple[set[str], dict[str, str]]:
    """Each candidate condition compiled and evaluated alone: (matched, errored → message)."""
    matched: set[str] = set()
    errors: dict[str, str] = {}
    for i, ((when, _), on) in enumerate(zip(POOL, bits, strict=True)):
        if not on:
            continue
        program = compile_expression(when, boolean=True)
        ok, value = evaluate(program, {"input": input_, "env": env})
        if not ok:
            errors[f"c{i}"] = str(value)
        elif not isinstance(value, bool):
            errors[f"c{i}"] = repr(value)
        elif value:
            matched.add(f"c{i}")
    return matched, errors


INPUTS = st.fixed_dictionaries(
    {},
    optional={
        "a": st.integers(-3, 12),
        "b": st.integers(-2, 5),
        "s": st.one_of(st.sampled_from(["x", "abc", "a", ""]), st.integers(0, 3)),
        "c": st.one_of(st.booleans(), st.integers(0, 2)),
    },
)


@pytest.fixture(scope="module")
def pool_gateway(tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    # Module-scoped: Hypothesis runs many examples against the same, unchanging orders.
    path = tmp_path_factory.mktemp("pool") / "watchkeeper.yaml"
    path.write_text(pool_orders(), encoding="utf-8")
    return Gateway(load(path))


@settings(max_examples=300, deadline=None)
@given(
    bits=st.lists(st.booleans(), min_size=len(POOL), max_size=len(POOL)),
    input_=INPUTS,
    env=st.sampled_from(["prod", "dev"]),
)
def test_combined_conditions_decide_like_each_condition_alone(
    pool_gateway: Gateway, bits: list[bool], input_: dict[str, Any], env: str
) -> None:
    tool = "t-" + "".join("1" if b else "0" for b in bits)
    d = pool_gateway.decide({"tool": tool, "input": input_, "environment": env})
    matched, errors = naive(bits, input_, env)
    assert set(d.rules) == matched | set(errors)
    verdicts = [POOL[int(r[1:])][1] for r in matched] + ["deny"] * len(errors)
    expected = max(verdicts, key=RESTRICTIVENESS.__getitem__) if verdicts else None
    if expected is None:
        expected = "ask" if env == "prod" else "allow"
    assert d.decision == expected, d.reasons
    for rule, message in errors.items():
        assert any(f"'{rule}'" in r and message in r for r in d.reasons), (rule, d.reasons)


# --- fail closed, everywhere --------------------------------------------------------------------

FAIL_ORDERS = """
environments:
  prod: {default: ask}
  dev: {default: allow}
tools:
  refund: {verb: transfer, target: money, amount: "input.amount"}
"""

FAILURES: list[tuple[str, Callable[[StandingOrders], Gateway], Any, str]] = [
    (
        "analyzer-crash",
        lambda o: gateway_with(o, "t", Crashing()),
        dev("t"),
        "parser exploded on purpose",
    ),
    (
        "analyzer-returns-strings",
        lambda o: gateway_with(o, "t", Returns(["delete everything"])),
        dev("t"),
        "not a list of Effect",
    ),
    (
        "analyzer-returns-none",
        lambda o: gateway_with(o, "t", Returns(None)),
        dev("t"),
        "not a list of Effect",
    ),
    (
        "analyzer-returns-an-effect-not-a-list",
        lambda o: gateway_with(o, "t", Returns(effect("read", "file"))),
        dev("t"),
        "not a list of Effect",
    ),
    (
        "analyzer-too-many-effects",
        lambda o: gateway_with(
            o,
            "t",
            FixedAnalyzer(effect("read", "file"), effect("read", "file")),
            Limits(max_effects=1),
        ),
        dev("t"),
        "limit",
    ),
    (
        "analyzer-over-budget",
        lambda o: gateway_with(o, "t", Slow(), Limits(budget_seconds=0.01)),
        dev("t"),
        "budget",
    ),
    (
        "input-over-size-limit",
        lambda o: gateway_with(o, "t", Slow(), Limits(max_input_bytes=64)),
        dev("t", input={"blob": "x" * 200}),
        "limit",
    ),
    ("tool-missing", Gateway, {"input": {}, "environment": "dev"}, "tool"),
    ("tool-empty", Gateway, dev(""), "tool"),
    ("input-not-an-object", Gateway, dev("t", input=["ls"]), "input"),
    ("unknown-field-with-suggestion", Gateway, dev("t", inptu={}), "did you mean 'input'"),
    ("action-not-an-object", Gateway, ["tool", "t"], "object"),
    ("action-null", Gateway, None, "object"),
    ("intent-kind-not-a-string", Gateway, dev("t", intent={"kind": 3}), "intent.kind"),
    ("nan-in-input", Gateway, dev("t", input={"x": math.nan}), "JSON"),
    ("infinity-in-input", Gateway, dev("t", input={"x": math.inf}), "JSON"),
    ("object-in-input", Gateway, dev("t", input={"x": object()}), "JSON"),
    ("declared-attribute-missing", Gateway, dev("refund", input={"cents": 5}), "amount"),
]


@pytest.mark.parametrize(
    ("build", "action", "mention"),
    [f[1:] for f in FAILURES],
    ids=[f[0] for f in FAILURES],
)
def test_any_error_on_the_decision_path_denies_with_the_error_as_reason(
    orders_from: OrdersFrom,
    build: Callable[[StandingOrders], Gateway],
    action: Any,
    mention: str,
) -> None:
    orders = orders_from(FAIL_ORDERS)
    d = build(orders).decide(action)  # in dev, where the default would allow
    assert isinstance(d, Decision)
    assert d.decision == "deny"
    assert mention in reasons_text(d), d.reasons
    assert d.approvals == ()
    assert d.orders_digest == orders.digest


def test_the_same_gateway_decides_normally_after_a_failure(orders_from: OrdersFrom) -> None:
    gateway = Gateway(orders_from(FAIL_ORDERS))
    assert gateway.decide(dev("refund", input={})).decision == "deny"
    assert gateway.decide(dev("refund", input={"amount": 3})).decision == "allow"


def test_a_failed_decision_still_names_the_action_and_its_environment(
    orders_from: OrdersFrom,
) -> None:
    orders = orders_from(FAIL_ORDERS)
    action = {"tool": "t", "environment": "prod", "input": {"x": 1}}
    d = gateway_with(orders, "t", Crashing()).decide(action)
    assert d.decision == "deny"
    assert d.action_digest == Action.from_json(action).digest("prod")
    assert d.environment == "prod"


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
# Mostly well-formed actions with hostile values, so most examples reach placement, analysis
# and the rules; a few malformed ones keep the validator honest.
WELL_FORMED = st.fixed_dictionaries(
    {
        "tool": st.sampled_from(["refund", "lookup_order", "send_email", "t", "shell"]),
        "input": st.dictionaries(st.sampled_from(["amount", "order", "to", "path"]), JSON),
    },
    optional={
        "agent": st.sampled_from(["support-bot", "loose-bot", "ghost"]),
        "environment": st.sampled_from(["prod", "dev", "qa"]),
        "intent": st.fixed_dictionaries(
            {}, optional={"kind": st.sampled_from(["refund", "order_status", "other"])}
        ),
        "session": st.text(max_size=8),
    },
)
ACTIONS = st.one_of(WELL_FORMED, WELL_FORMED, WELL_FORMED, JSON)


@pytest.fixture(scope="module")
def charters_gateway(tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    path = tmp_path_factory.mktemp("charters") / "watchkeeper.yaml"
    path.write_text(textwrap.dedent(CHARTERS), encoding="utf-8")
    return Gateway(load(path))


@settings(max_examples=300, deadline=None)
@given(action=ACTIONS)
def test_submit_never_raises(charters_gateway: Gateway, action: Any) -> None:
    d = charters_gateway.decide(action)
    assert isinstance(d, Decision)
    assert d.decision in DECISIONS
    assert d.reasons
    if d.decision == "allow":  # an allow must come from a rule or a default, never an error
        assert not any("error" in r or "invalid" in r for r in d.reasons), d.reasons


# --- what a decision carries --------------------------------------------------------------------


def test_a_decision_carries_everything_needed_to_act_and_explain(combining: Gateway) -> None:
    action = {
        "agent": "pay-bot",
        "tool": "pay",
        "input": {"amount": 7},
        "environment": "prod",
        "session": "s-1",
    }
    d = combining.decide(action)
    assert d.decision == "ask"
    assert set(d.rules) == {"allow-small", "ask-sre-medium"}
    assert d.reasons
    assert [a.rule for a in d.approvals] == ["ask-sre-medium"]
    assert d.instructions == ("Check the ledger first.",)
    assert d.orders_digest == combining.orders.digest
    assert d.orders_digest is not None
    assert d.orders_digest.startswith("sha256:")
    assert d.action_digest == Action.from_json(action).digest("prod")
    assert d.environment == "prod"
    assert d.effects
    assert all(e.environment == "prod" for e in d.effects)
    assert set(d.to_json()) >= {
        "decision",
        "rules",
        "reasons",
        "effects",
        "approvals",
        "instructions",
        "orders_digest",
        "action_digest",
        "environment",
    }


# --- the action digest --------------------------------------------------------------------------

BASE = {
    "agent": "infra-bot",
    "tool": "shell",
    "input": {"command": "ls", "opts": {"a": 1, "b": [1, 2]}},
    "environment": "prod",
}


def test_digest_ignores_key_order(combining: Gateway) -> None:
    reordered = {
        "environment": "prod",
        "input": {"opts": {"b": [1, 2], "a": 1}, "command": "ls"},
        "tool": "shell",
        "agent": "infra-bot",
    }
    first = combining.decide(BASE).action_digest
    assert first is not None
    assert first == combining.decide(reordered).action_digest


@pytest.mark.parametrize(
    "change",
    [
        {"agent": "other-bot"},
        {"agent": None},
        {"tool": "bash"},
        {"input": {"command": "ls -la", "opts": {"a": 1, "b": [1, 2]}}},
        {"input": {"command": "ls", "opts": {"a": 1, "b": [2, 1]}}},
        {"input": {"command": "ls", "opts": {"a": 1.5, "b": [1, 2]}}},
        {"environment": "dev"},
        {"environment": "qa"},
    ],
    ids=[
        "agent",
        "no-agent",
        "tool",
        "input-value",
        "input-list-order",
        "input-number",
        "environment",
        "environment-unresolved",
    ],
)
def test_digest_changes_with_agent_tool_input_or_resolved_environment(
    combining: Gateway, change: dict[str, Any]
) -> None:
    assert (
        combining.decide(BASE).action_digest != combining.decide({**BASE, **change}).action_digest
    )


@pytest.mark.parametrize(
    "change",
    [
        {"session": "s-2"},
        {"intent": {"kind": "cleanup", "goal": "free space", "rationale": "disk is full"}},
        {"context": {"ticket": "OPS-1"}},
    ],
    ids=["session", "intent", "context"],
)
def test_digest_ignores_session_intent_and_context(
    combining: Gateway, change: dict[str, Any]
) -> None:
    assert (
        combining.decide(BASE).action_digest == combining.decide({**BASE, **change}).action_digest
    )


def test_digest_covers_the_resolved_environment_not_the_claim(combining: Gateway) -> None:
    # Two undeclared claims both resolve to "unknown": the same action, judged the same way.
    typo = combining.decide({**BASE, "environment": "prdo"}).action_digest
    assert typo == combining.decide({**BASE, "environment": "qa"}).action_digest
    assert (
        typo
        == combining.decide({k: v for k, v in BASE.items() if k != "environment"}).action_digest
    )
    assert typo != combining.decide(BASE).action_digest
