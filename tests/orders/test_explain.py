"""``explain``: every rule's verdict on one action, and why."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.gateway import Gateway
from watchkeeper.orders.explain import MATCHING
from watchkeeper.orders.model import StandingOrders

ORDERS = """
environments:
  prod: {default: ask}
  dev: {default: allow}
agents:
  bot: {owner: o@example.com, charter: {tools: [refund], environments: [dev]}}
tools:
  refund: {verb: transfer, target: money, amount: input.amount}
rules:
  - {name: by-tool, match: {tool: shell}, decision: deny}
  - {name: by-env, match: {environment: dev}, decision: allow}
  - {name: by-agent, match: {agent: other}, decision: deny}
  - {name: by-effect, match: {verb: delete, target: db_table}, decision: ask}
  - {name: false-cond, when: "input.amount > 1000", decision: deny}
  - {name: error-cond, match: {tool: refund}, when: "input.nope == 1", decision: deny}
  - {name: plain, match: {tool: refund}, decision: ask}
"""


@pytest.fixture
def gateway(orders_from: Callable[[str], StandingOrders]) -> Gateway:
    return Gateway(orders_from(ORDERS))


def verdicts(gateway: Gateway, env: str | None) -> dict[tuple[str, str | None], tuple[str, str]]:
    action = {"agent": "bot", "tool": "refund", "input": {"amount": 5}}
    if env:
        action["environment"] = env
    explanation = gateway.explain(action)
    return {(r.rule, r.environment): (r.status, r.detail) for r in explanation.rules}


def test_every_rule_gets_a_verdict_with_its_reason(gateway: Gateway) -> None:
    v = verdicts(gateway, "prod")
    assert v[("by-tool", "prod")] == ("not selected", "tool 'refund' is not one of shell")
    assert v[("by-env", "prod")] == ("not selected", "environment 'prod' is not one of dev")
    assert v[("by-agent", "prod")] == ("not selected", "agent 'bot' is not one of other")
    assert v[("by-effect", "prod")][0] == "not selected"
    assert "verb delete and target db_table" in v[("by-effect", "prod")][1]
    assert v[("false-cond", "prod")] == ("condition false", "when: input.amount > 1000")
    assert v[("error-cond", "prod")][0] == "condition error"
    assert "nope" in v[("error-cond", "prod")][1]
    assert v[("plain", "prod")] == ("overruled", "selectors hold; the decision is stricter")


def test_explanation_agrees_with_the_decision(gateway: Gateway) -> None:
    explanation = gateway.explain(
        {"agent": "bot", "tool": "refund", "environment": "prod", "input": {"amount": 5}}
    )
    matched = {r.rule for r in explanation.rules if r.status in MATCHING}
    assert matched == set(explanation.decision.rules)
    assert explanation.decision.decision == "deny"
    assert explanation.charter == ("environment 'prod' is not in its charter (environments: dev)",)


def test_unknown_environment_is_explained_in_every_environment(gateway: Gateway) -> None:
    v = verdicts(gateway, None)
    assert {env for _, env in v} == {"prod", "dev"}
    assert v[("by-env", "dev")][0] == "overruled"  # allow in dev, but prod asks
    assert v[("by-env", "prod")][0] == "not selected"


def test_explaining_a_malformed_action_explains_the_denial(gateway: Gateway) -> None:
    explanation = gateway.explain({"input": {}})
    assert explanation.decision.decision == "deny"
    assert explanation.rules == ()
    assert explanation.to_json()["decision"]["reasons"][0].startswith("invalid action: tool")


PROPERTY_ORDERS = """
environments:
  prod: {default: ask, match: {paths: ["/srv/prod/**"]}}
  dev: {default: allow, match: {paths: ["/home/**"]}}
agents:
  bot: {owner: o@example.com, charter: {tools: [refund, "shell*"], environments: [dev, prod]}}
tools:
  refund: {verb: transfer, target: money, amount: input.amount}
  wipe: {verb: delete, target: file, reversible: "no"}
rules:
  - {name: big, match: {tool: refund}, when: "input.amount > 100", decision: ask}
  - {name: huge, match: {tool: refund}, when: "input.amount > 1000", decision: deny}
  - {name: prod-delete, match: {environment: prod, verb: delete}, decision: ask}
  - {name: shells, match: {tool: "shell*"}, decision: allow}
  - {name: needs-x, when: "has(input.x) && input.x == 'boom'", decision: deny}
  - {name: raises, match: {tool: wipe}, when: "input.missing == 1", decision: deny}
"""

ACTIONS = st.fixed_dictionaries(
    {
        "tool": st.sampled_from(["refund", "wipe", "shell", "shell_exec", "other"]),
        "input": st.fixed_dictionaries(
            {},
            optional={
                "amount": st.integers(-10, 2000),
                "x": st.sampled_from(["boom", "calm"]),
                "path": st.sampled_from(["/srv/prod/db", "/home/me/a", "/tmp/z"]),
                "missing": st.just(1),
            },
        ),
    },
    optional={
        "agent": st.sampled_from(["bot", "stranger"]),
        "environment": st.sampled_from(["prod", "dev", "qa"]),
    },
)


@pytest.fixture(scope="module")
def property_gateway(tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    from watchkeeper.analyzers import Limits, default_registry
    from watchkeeper.orders.loader import load_text

    # Explain and decide run the analyzers twice: on a loaded machine one run may overrun the
    # time budget and the other not. The budget has tests of its own; here it is out of reach.
    roomy = default_registry(Limits(budget_seconds=60.0))
    return Gateway(load_text(PROPERTY_ORDERS, "property.yaml"), roomy)


@settings(max_examples=300, deadline=None)
@given(action=ACTIONS)
def test_explain_agrees_with_decide(property_gateway: Gateway, action: dict[str, object]) -> None:
    decision = property_gateway.decide(action)
    explanation = property_gateway.explain(action)
    assert explanation.decision == decision
    matched = {r.rule for r in explanation.rules if r.status in MATCHING}
    assert matched == set(decision.rules)
    # Where no rule matched, the environment's default is shown as what applied (when the
    # action got as far as the rules: a failed analysis has nothing more to explain).
    for env in (decision.environments or (None,)) if explanation.rules else ():
        mine = [r for r in explanation.rules if r.environment == env]
        assert any(r.status in MATCHING for r in mine) != any(r.status == "default" for r in mine)
