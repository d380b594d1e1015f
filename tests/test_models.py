"""Actions, effects, decisions: the JSON forms and the canonical digest."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.canonical import canonical_json, digest
from watchkeeper.decision import Decision, most_restrictive
from watchkeeper.errors import InvalidAction, UsageError
from watchkeeper.models import Action, Effect, Intent, Target

FULL = {
    "agent": "infra-bot",
    "session": "s-1",
    "tool": "shell",
    "input": {"command": "ls"},
    "environment": "prod",
    "intent": {"kind": "debug", "goal": "g", "plan": ["a", "b"], "step": 2, "rationale": "r"},
    "context": {"ticket": "OPS-1"},
}


def test_action_json_round_trips() -> None:
    action = Action.from_json(FULL)
    assert action.to_json() == FULL
    assert action.intent == Intent("debug", "g", ["a", "b"], 2, "r")


def test_minimal_action_needs_only_a_tool() -> None:
    action = Action.from_json({"tool": "lookup"})
    assert (action.tool, dict(action.input), action.agent, action.intent) == (
        "lookup",
        {},
        None,
        None,
    )


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        pytest.param([], "action", "expected a JSON object, got a list", id="not-an-object"),
        pytest.param({"input": {}}, "tool", "required non-empty string, got None", id="no-tool"),
        pytest.param({"tool": ""}, "tool", "required non-empty string", id="empty-tool"),
        pytest.param({"tool": 3}, "tool", "got 3", id="tool-not-string"),
        pytest.param({"tool": "t", "input": [1]}, "input", "got a list", id="input-list"),
        pytest.param({"tool": "t", "inputs": {}}, "inputs", "did you mean 'input'", id="typo"),
        pytest.param({"tool": "t", "agent": 5}, "agent", "got number 5", id="agent-number"),
        pytest.param({"tool": "t", "intent": "x"}, "intent", "got string 'x'", id="intent-str"),
        pytest.param(
            {"tool": "t", "intent": {"knd": "x"}},
            "intent.knd",
            "did you mean 'kind'",
            id="intent-key",
        ),
        pytest.param(
            {"tool": "t", "intent": {"plan": [1]}}, "intent.plan", "list of strings", id="plan"
        ),
        pytest.param(
            {"tool": "t", "intent": {"step": True}}, "intent.step", "boolean true", id="step-bool"
        ),
        pytest.param({"tool": "t", "context": 1}, "context", "got number 1", id="context"),
    ],
)
def test_invalid_action_names_the_field_and_the_problem(data: Any, field: str, text: str) -> None:
    with pytest.raises(InvalidAction) as info:
        Action.from_json(data)
    assert info.value.field == field
    assert text in str(info.value)
    assert str(info.value).startswith(f"{field}: ")


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": [1, 1.5, None], "a": "é", "c": True}) == (
        '{"a":"é","b":[1,1.5,null],"c":true}'.encode()
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object(), {1, 2}])
def test_canonical_json_refuses_what_is_not_json(bad: Any) -> None:
    with pytest.raises(UsageError, match="not canonical JSON"):
        canonical_json({"v": bad})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_digest_ignores_key_order_and_survives_a_json_round_trip(value: dict[str, Any]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert digest(value) == digest(reordered)
    assert digest(json.loads(canonical_json(value))) == digest(value)


def test_action_digest_covers_agent_tool_input_and_resolved_environment() -> None:
    base = Action.from_json(FULL)
    d = base.digest("prod")
    assert d.startswith("sha256:")
    assert len(d) == 7 + 64
    assert base.digest("dev") != d
    for change in ({"agent": "other"}, {"tool": "bash"}, {"input": {"command": "ls -la"}}):
        assert Action.from_json({**FULL, **change}).digest("prod") != d
    for same in ({"session": "s-2"}, {"intent": None}, {"context": {}}, {"environment": "dev"}):
        assert Action.from_json({**FULL, **same}).digest("prod") == d


def test_action_digest_is_sha256_of_the_documented_document() -> None:
    import hashlib

    action = Action.from_json({"tool": "t", "input": {"b": 1, "a": "x"}})
    document = b'{"agent":null,"environment":null,"input":{"a":"x","b":1},"tool":"t"}'
    assert action.digest(None) == "sha256:" + hashlib.sha256(document).hexdigest()


def test_most_restrictive_orders_deny_over_ask_over_allow() -> None:
    assert most_restrictive("allow", "ask") == "ask"
    assert most_restrictive("deny", "ask") == "deny"
    assert most_restrictive("allow", "allow") == "allow"


def test_decision_json_form_has_every_documented_field() -> None:
    effect = Effect("delete", Target("db_table", "t"), environment="prod", reversible="no")
    decision = Decision("deny", ("because",), rules=("r",), effects=(effect,))
    data = decision.to_json()
    assert set(data) == {
        "decision", "rules", "reasons", "effects", "approvals", "instructions",
        "environment", "environments", "orders_digest", "action_digest",
    }  # fmt: skip
    assert data["effects"][0]["target"] == {"kind": "db_table", "id": "t"}
    assert json.loads(json.dumps(data)) == data
    assert decision.summary() == "deny: because"


@given(
    st.dictionaries(st.text(), json_values, max_size=5),
    st.none() | st.text(),
    st.none() | st.text(),
    st.text(min_size=1),
)
def test_digest_from_precomputed_input_equals_the_documented_digest(
    input: dict[str, Any], agent: str | None, env: str | None, tool: str
) -> None:
    action = Action(tool=tool, input=input, agent=agent)
    assert action.digest(env, canonical_json(input)) == action.digest(env)


@pytest.mark.parametrize(
    ("effect", "problem"),
    [
        (Effect("destroy", Target("x")), "verb 'destroy' is not one of"),
        (Effect("read", "x"), "is not a Target"),  # type: ignore[arg-type]
        (Effect("read", Target("x"), scope="some"), "scope 'some'"),
        (Effect("read", Target("x"), reversible=True), "reversible True"),  # type: ignore[arg-type]
        (Effect("read", Target("x"), flags="obfuscated"), "is not a set of strings"),  # type: ignore[arg-type]
        (Effect("read", Target("x"), attributes=[1]), "is not a mapping"),  # type: ignore[arg-type]
    ],
)
def test_a_malformed_effect_says_what_is_wrong(effect: Effect, problem: str) -> None:
    problems = effect.problems()
    assert len(problems) == 1
    assert problem in problems[0]


def test_attributes_that_are_not_json_make_an_effect_malformed() -> None:
    effect = Effect("read", Target("x"), attributes={"when": object()})
    assert effect.problems()[0].startswith("attributes are not JSON")
