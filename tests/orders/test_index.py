"""The selector index: only candidate rules run their condition."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from watchkeeper.gateway import Gateway
from watchkeeper.orders.index import Dimension, RuleIndex, bits
from watchkeeper.orders.model import StandingOrders


def test_bits_lists_set_bits_in_order() -> None:
    assert bits(0) == []
    assert bits(0b101001) == [0, 3, 5]
    assert bits(1 << 299) == [299]


def test_dimension_exact_any_and_patterns() -> None:
    dim = Dimension([("shell",), (), ("mcp__*",), ("shell", "bash")])
    assert bits(dim.mask("shell")) == [0, 1, 3]
    assert bits(dim.mask("mcp__github__create_issue")) == [1, 2]
    assert bits(dim.mask("other")) == [1]
    assert bits(dim.mask(None)) == [1]
    assert dim.mask("shell") == dim.mask("shell")  # served from the cache, same answer


def test_verb_and_target_are_matched_per_effect() -> None:
    index = RuleIndex(
        tools=[(), ()],
        environments=[(), ()],
        agents=[(), ()],
        verbs=[("delete",), ("delete",)],
        targets=[("db_table",), ()],
    )
    assert bits(index.candidates("t", None, None, [("delete", "file"), ("read", "db_table")])) == [
        1
    ]
    assert bits(index.candidates("t", None, None, [("delete", "db_table")])) == [0, 1]


def test_no_effects_still_selects_rules_without_effect_selectors() -> None:
    index = RuleIndex([(), ()], [(), ()], [(), ()], [(), ("read",)], [(), ()])
    assert bits(index.candidates("t", None, None, [])) == [0]


@pytest.fixture
def trap(orders_from: Callable[[str], StandingOrders]) -> Gateway:
    # The `wipe` rule's condition raises on any action without `input.target`; it must only
    # ever run for `wipe` actions, which is what the index promises.
    return Gateway(
        orders_from(
            """
            environments: {prod: {default: allow}}
            rules:
              - name: wipe-guard
                match: {tool: wipe}
                when: "input.target == 'all'"
                decision: deny
              - {name: read-note, match: {tool: read}, when: "input.path != ''", decision: allow}
            """
        )
    )


def test_a_non_candidate_rule_never_runs_its_condition(trap: Gateway) -> None:
    decision = trap.decide({"tool": "read", "environment": "prod", "input": {"path": "/a"}})
    assert (decision.decision, decision.rules) == ("allow", ("read-note",))


def test_the_candidate_rule_does_run_its_condition(trap: Gateway) -> None:
    decision = trap.decide({"tool": "wipe", "environment": "prod", "input": {}})
    assert decision.decision == "deny"
    assert "wipe-guard" in decision.reasons[0]
    assert "failed closed" in decision.reasons[0]


def test_many_rules_index_only_candidates(orders_from: Callable[[str], StandingOrders]) -> None:
    rules = "\n".join(
        f"  - {{name: r{i}, match: {{tool: t{i}}}, when: 'input.missing_{i} > 0', decision: deny}}"
        for i in range(300)
    )
    gateway = Gateway(orders_from("environments: {dev: {default: allow}}\nrules:\n" + rules))
    ok = gateway.decide({"tool": "t-none", "environment": "dev", "input": {}})
    assert (ok.decision, ok.rules) == ("allow", ())
    hit = gateway.decide({"tool": "t150", "environment": "dev", "input": {}})
    assert (hit.decision, hit.rules) == ("deny", ("r150",))
