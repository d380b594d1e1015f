"""Declared tool attributes and charter limits: what loads, and what it means."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from watchkeeper.errors import OrdersError
from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import load
from watchkeeper.orders.model import StandingOrders

OrdersFrom = Callable[[str], StandingOrders]


def refused(write_orders: Callable[..., Path], text: str) -> list[str]:
    path = write_orders(text)
    with pytest.raises(OrdersError) as info:
        load(path)
    return [f"{i.line}:{i.col}: {i.message}" for i in info.value.issues]


@pytest.mark.parametrize("field", ["environment", "count", "attributes", "analyzer"])
def test_an_attribute_may_not_be_named_after_an_effect_field(
    write_orders: Callable[..., Path], field: str
) -> None:
    issues = refused(
        write_orders, f"tools:\n  deploy: {{verb: update, target: host, {field}: input.x}}\n"
    )
    assert issues == [
        f"2:40: {field!r} is an effect field set by watchkeeper, not an attribute; "
        "choose another name"
    ]


@pytest.mark.parametrize("variable", ["agent.name", "env", "effects.size()"])
def test_an_attribute_may_only_read_input_and_action(
    write_orders: Callable[..., Path], variable: str
) -> None:
    issues = refused(write_orders, f"tools:\n  t: {{verb: read, target: x, who: '{variable}'}}\n")
    assert len(issues) == 1
    assert issues[0].startswith("2:35: attribute 'who' may only use input and action")


def test_a_non_json_attribute_value_denies(orders_from: OrdersFrom) -> None:
    gateway = Gateway(
        orders_from(
            "environments: {dev: {default: allow}}\n"
            "tools:\n  t: {verb: read, target: x, raw: \"b'abc'\"}\n"
        )
    )
    decision = gateway.decide({"tool": "t", "environment": "dev", "input": {}})
    assert decision.decision == "deny"
    assert "attribute raw" in decision.reasons[0]
    assert "not a JSON value" in decision.reasons[0]


LIMITS = """
environments: {prod: {default: allow}}
tools:
  my.tool: {verb: transfer, target: money, amount: input.amount}
agents:
  bot:
    charter:
      tools: [my.tool, "refund*"]
      limits: {my.tool.amount: 5, refund*.amount: 100}
    outside_charter: deny
"""


@pytest.mark.parametrize(
    ("tool", "amount", "decision"),
    [
        pytest.param("my.tool", 5, "allow", id="dotted-tool-at-limit"),
        pytest.param("my.tool", 6, "deny", id="dotted-tool-over"),
        pytest.param("refund_v2", 5000, "deny", id="glob-tool-over"),
        pytest.param("refund", 100, "allow", id="glob-tool-at-limit"),
        pytest.param("refund", -5, "deny", id="negative"),
        pytest.param("refund", 10**400, "deny", id="huge"),
        pytest.param("refund", "50", "deny", id="string"),
    ],
)
def test_limits_apply_to_dotted_and_wildcard_tools(
    orders_from: OrdersFrom, tool: str, amount: object, decision: str
) -> None:
    gateway = Gateway(orders_from(LIMITS))
    d = gateway.decide(
        {"agent": "bot", "tool": tool, "environment": "prod", "input": {"amount": amount}}
    )
    assert d.decision == decision, d.reasons
    if decision == "deny":
        assert "outside the charter of agent 'bot'" in d.reasons[0]


def test_a_limit_on_an_unknown_tool_is_refused_even_without_a_tools_list(
    write_orders: Callable[..., Path],
) -> None:
    issues = refused(
        write_orders,
        "tools: {refund: {verb: transfer, target: money}}\n"
        "agents:\n  bot: {charter: {limits: {refnud.amount: 5}}}\n",
    )
    assert issues == [
        "3:28: limit 'refnud.amount' names tool 'refnud', which is not in the declared tools: "
        "(refund); add the tool or remove the limit"
    ]


@pytest.mark.parametrize("bound", [".inf", ".nan", "-.inf"])
def test_a_limit_must_be_finite(write_orders: Callable[..., Path], bound: str) -> None:
    issues = refused(
        write_orders,
        f"agents:\n  bot: {{charter: {{tools: [refund], limits: {{refund.amount: {bound}}}}}}}\n",
    )
    assert issues == [f"2:60: expected a finite number, got {bound}"]


def test_code_fields_load_with_their_analyzer_and_dialect(orders_from: OrdersFrom) -> None:
    orders = orders_from(
        "tools:\n"
        "  q: {verb: read, target: db_rows, analyze: {sql: input.sql, dialect: mysql}}\n"
        "  j: {verb: execute, target: process, analyze: {shell: [input.cmd, input.a.b]}}\n"
        "  p: {verb: update, target: x, analyze: {terraform_plan: input.plan}}\n"
        "  none: {verb: read, target: x, analyze: {}}\n"
        "  unsaid: {verb: read, target: x}\n"
    )
    code = {name: tool.code for name, tool in orders.tools.items()}
    assert {n: [(f.kind, f.path, f.dialect) for f in c or ()] for n, c in code.items()} == {
        "q": [("sql", ("sql",), "mysql")],
        "j": [("shell", ("cmd",), None), ("shell", ("a", "b"), None)],
        "p": [("terraform_plan", ("plan",), None)],
        "none": [],
        "unsaid": [],
    }
    # `analyze: {}` says the tool carries no code; no `analyze:` says nothing.
    assert (code["none"], code["unsaid"]) == ((), None)


def test_every_mistake_in_code_fields_is_refused_at_once_with_its_position(
    write_orders: Callable[..., Path],
) -> None:
    issues = refused(
        write_orders,
        """\
        tools:
          a: {verb: read, target: x, analyze: {python: input.code}}
          b: {verb: read, target: x, analyze: {sql: sql}}
          c: {verb: read, target: x, analyze: {sql: action.input.sql}}
          d: {verb: read, target: x, analyze: {shell: []}}
          e: {verb: read, target: x, analyze: {sql: input.q, shell: input.q}}
          f: {verb: read, target: x, analyze: {dialect: mysql}}
          g: {verb: read, target: x, analyze: {sql: input.q, dialect: postgress}}
          h: {verb: read, target: x, analyze: input.sql}
        """,
    )
    hint = "name a field of the action's input as input.name (or input.a.b)"
    assert issues[:7] == [
        "2:40: unknown key 'python'; known keys: sql, dialect, shell, terraform_plan",
        f"3:45: 'sql' is not valid here; {hint}",
        f"4:45: 'action.input.sql' is not valid here; {hint}",
        "5:47: an empty list names no field; name one or remove 'shell'",
        "6:61: input.q is already named under 'sql': a field holds one language; name it once",
        "7:40: dialect applies to the sql fields, and none is named; "
        "add `sql: input.…` or remove the dialect",
        "8:63: 'postgress' is not one of " + issues[6].split(" is not one of ", 1)[1],
    ]
    assert issues[6].endswith("did you mean 'postgres'?")
    assert issues[7].startswith("9:39: expected a mapping with keys sql, dialect, shell")
    assert len(issues) == 8
