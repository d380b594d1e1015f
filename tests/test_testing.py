"""The shipped test helpers work as their docstring shows."""

from __future__ import annotations

from watchkeeper.testing import FixedAnalyzer, action, effect, gateway_for


def test_docstring_example() -> None:
    gw = gateway_for(
        "rules: [{name: no-drops, match: {verb: delete}, decision: deny}]",
        FixedAnalyzer(effect("delete", "db_table", "users"), tools=["sql"]),
    )
    decision = gw.decide(action("sql", query="DROP TABLE users"))
    assert (decision.decision, decision.rules) == ("deny", ("no-drops",))
    assert decision.effects[0].target.id == "users"


def test_action_builder_leaves_out_what_is_not_given() -> None:
    assert action("t", agent="a", x=1) == {"tool": "t", "agent": "a", "input": {"x": 1}}


def test_effect_builder_carries_flags_and_attributes() -> None:
    e = effect("execute", "process", flags=["obfuscated"], depth=2)
    assert (e.flags, dict(e.attributes), e.problems()) == (
        frozenset({"obfuscated"}),
        {"depth": 2},
        [],
    )
