"""What CEL conditions see (SPEC §5): action, input, effects, agent and env."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from watchkeeper.gateway import Gateway
from watchkeeper.orders.cel import ENV, ConditionSet, evaluate
from watchkeeper.orders.model import StandingOrders

ORDERS = """
environments: {prod: {default: allow}, dev: {default: allow}}
agents:
  bot:
    owner: owner@example.com
    charter: {tools: [refund, note], environments: [prod, dev]}
tools:
  refund: {verb: transfer, target: money, id: input.order, amount: input.amount}
  note: {verb: create, target: message}
rules:
  - {name: by-intent, when: "action.intent.kind == 'chargeback'", decision: deny}
  - {name: by-session, when: "action.session.startsWith('suspicious-')", decision: deny}
  - name: by-context
    when: "'ticket' in action.context && action.context.ticket == 'X'"
    decision: deny
  - {name: by-claimed-env, when: "action.environment == 'dev' && env == 'dev'", decision: ask}
  - name: by-owner
    when: "agent.owner == 'owner@example.com' && input.amount > 1000"
    decision: ask
  - name: by-charter
    when: "'refund' in agent.charter.tools && input.amount > 5000"
    decision: deny
  - name: by-attribute
    when: "effects.exists(e, e.amount > 50 && e.target.id == 'A-9')"
    decision: ask
  - {name: by-agent-name, when: "agent.name == ''", decision: ask}
"""


@pytest.fixture
def gateway(orders_from: Callable[[str], StandingOrders]) -> Gateway:
    return Gateway(orders_from(ORDERS))


def decide(gateway: Gateway, **fields: Any) -> tuple[str, tuple[str, ...]]:
    action = {"agent": "bot", "tool": "refund", "environment": "prod", **fields}
    action.setdefault("input", {"amount": 1, "order": "A-1"})
    d = gateway.decide(action)
    return d.decision, d.rules


def test_nothing_matches_an_ordinary_action(gateway: Gateway) -> None:
    assert decide(gateway) == ("allow", ())


def test_intent_kind(gateway: Gateway) -> None:
    assert decide(gateway, intent={"kind": "chargeback"}) == ("deny", ("by-intent",))
    assert decide(gateway, intent={"goal": "no kind given"}) == ("allow", ())


def test_session(gateway: Gateway) -> None:
    assert decide(gateway, session="suspicious-1") == ("deny", ("by-session",))


def test_context(gateway: Gateway) -> None:
    assert decide(gateway, context={"ticket": "X"}) == ("deny", ("by-context",))


def test_action_environment_and_env_are_the_resolved_environment(gateway: Gateway) -> None:
    assert decide(gateway, environment="dev") == ("ask", ("by-claimed-env",))


def test_agent_record(gateway: Gateway) -> None:
    assert decide(gateway, input={"amount": 2000, "order": "A-1"}) == ("ask", ("by-owner",))
    assert decide(gateway, input={"amount": 6000, "order": "A-1"}) == (
        "deny",
        ("by-charter", "by-owner"),
    )


def test_declared_attributes_and_target_id_on_effects(gateway: Gateway) -> None:
    assert decide(gateway, input={"amount": 60, "order": "A-9"}) == ("ask", ("by-attribute",))
    assert decide(gateway, input={"amount": 60, "order": "A-8"}) == ("allow", ())


def test_an_action_without_an_agent_sees_an_empty_agent(gateway: Gateway) -> None:
    d = gateway.decide({"tool": "note", "environment": "prod", "input": {"amount": 1}})
    assert (d.decision, d.rules) == ("ask", ("by-agent-name",))


def test_strings_and_bindings_extensions_are_available(
    orders_from: Callable[[str], StandingOrders],
) -> None:
    gateway = Gateway(
        orders_from(
            "environments: {prod: {default: allow}}\n"
            "rules:\n"
            "  - name: shout\n"
            "    when: >-\n"
            "      has(input.to) && cel.bind(d, input.to.lowerAscii().split('@'),\n"
            "      size(d) == 2 && d[1] == 'example.com')\n"
            "    decision: deny\n"
        )
    )
    hit = gateway.decide({"tool": "mail", "environment": "prod", "input": {"to": "A@EXAMPLE.COM"}})
    miss = gateway.decide({"tool": "mail", "environment": "prod", "input": {"to": "a@other.org"}})
    assert (hit.decision, miss.decision) == ("deny", "allow")


def test_an_environment_dependent_condition_is_judged_in_each_environment(
    orders_from: Callable[[str], StandingOrders],
) -> None:
    gateway = Gateway(
        orders_from(
            "environments: {dev: {default: allow}, prod: {default: allow}}\n"
            "rules:\n"
            "  - {name: prod-only, when: \"env == 'prod' && input.x == 1\", decision: deny}\n"
            "  - {name: anywhere, when: 'input.x == 1', decision: ask}\n"
        )
    )
    d = gateway.decide({"tool": "t", "input": {"x": 1}})  # no environment: judged in both
    assert (d.decision, set(d.rules)) == ("deny", {"prod-only", "anywhere"})


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (
            "input.args[0] == 'x'",
            "the key 'args' is missing; test it first, e.g. has(input.args) && … "
            "or 'args' in input",
        ),
        (
            "input.cents / 100 > 5",
            "numbers of different kinds do not mix: convert with double(…) or int(…)",
        ),
    ],
)
def test_runtime_errors_are_explained(
    orders_from: Callable[[str], StandingOrders], when: str, message: str
) -> None:
    gateway = Gateway(orders_from(f"rules: [{{name: r, when: {when!r}, decision: allow}}]\n"))
    d = gateway.decide({"tool": "t", "input": {"cents": 50099.0}})
    assert d.decision == "deny"
    assert message in d.reasons[0]
    assert (
        "the rule has no match: selectors, so its condition runs on every action" in (d.reasons[0])
    )


@pytest.mark.parametrize(
    ("when", "free"),
    [
        ("input.amount > 100", True),
        ("effects.exists(e, e.verb == 'delete')", False),  # only when every effect is placed
        ("effects.exists(e, e.environment == 'prod')", False),
        ("env == 'prod'", False),
        ("action.tool == 'x'", False),
        ("effects.exists(e, e['environ' + 'ment'] == 'prod')", False),
        ("input['path'] == '/x'", True),
    ],
)
def test_which_conditions_are_judged_once_for_every_environment(when: str, free: bool) -> None:
    from watchkeeper.orders.cel import environment_free

    assert environment_free(when) is free


def test_an_indexed_environment_lookup_still_sees_each_environment(
    orders_from: Callable[[str], StandingOrders],
) -> None:
    gateway = Gateway(
        orders_from(
            "environments: {dev: {default: allow}, prod: {default: allow}}\n"
            "tools: {t: {verb: update, target: file}}\n"
            "rules:\n"
            "  - name: sneaky\n"
            "    when: \"effects.exists(e, e['environ' + 'ment'] == 'prod')\"\n"
            "    decision: deny\n"
        )
    )
    assert gateway.decide({"tool": "t", "input": {}}).decision == "deny"


@pytest.mark.parametrize(
    "when",
    [
        "'%s'.format(effects).contains('prod')",
        "effects.exists(e, e.exists(k, e[k] == 'prod'))",
    ],
)
def test_a_whole_effect_view_sees_each_environment(
    orders_from: Callable[[str], StandingOrders], when: str
) -> None:
    gateway = Gateway(
        orders_from(
            "environments:\n"
            "  dev: {default: allow, match: {paths: ['/srv/dev/**']}}\n"
            "  prod: {default: allow, match: {paths: ['/srv/prod/**']}}\n"
            "tools: {wipe: {verb: delete, target: db}}\n"
            f"rules: [{{name: r, when: {when!r}, decision: deny}}]\n"
        )
    )
    for action in (
        {"tool": "wipe", "environment": "dev", "input": {"p": "/srv/prod/db"}},
        {"tool": "wipe", "input": {}},
    ):
        decision = gateway.decide(action)
        assert decision.decision == "deny", decision.reasons
        explained = {r.rule for r in gateway.explain(action).rules if r.status == "matched"}
        assert explained == {"r"}


def test_the_engines_iteration_budget_is_an_error_in_words() -> None:
    effects = [{"verb": "read"}] * 10_001
    ok, why = evaluate(ENV.compile("effects.all(e, e.verb == 'read')"), {"effects": effects})
    assert not ok
    assert "more than 10,000 items" in why
    assert "split it" in why


def test_one_activation_serves_the_combined_program_and_each_rule_alone() -> None:
    conditions = ["effects.all(e, e.verb == 'read')", "effects.exists(e, e.verb == 'x')"]
    programs = [ENV.compile(c) for c in conditions]
    both = ConditionSet(conditions, programs)
    effects = [{"verb": "read"}] * 6_000  # together 12,000 iterations: over the budget
    assert both.run((0, 1), {"effects": effects}) == [True, False]
