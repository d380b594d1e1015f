"""Declared tools: the declaration's effect, and the code its named fields carry, analyzed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from watchkeeper.decision import Decision
from watchkeeper.gateway import Gateway
from watchkeeper.models import Span
from watchkeeper.orders.model import StandingOrders

OrdersFrom = Callable[[str], StandingOrders]

# Reads are free unless an effect is more than a read; irreversible deletes ask in prod.
ORDERS = """
environments:
  prod: {default: ask}
  dev: {default: allow}
tools:
  db_query:
    verb: read
    target: db_rows
    id: input.database
    analyze: {sql: input.sql}
  mssql_query: {verb: read, target: db_rows, analyze: {sql: input.q, dialect: tsql}}
  nested_query: {verb: read, target: db_rows, analyze: {sql: input.request.sql}}
  run_job: {verb: execute, target: process, analyze: {shell: [input.command, input.cleanup]}}
  apply_plan: {verb: update, target: terraform_resource, analyze: {terraform_plan: input.plan}}
  purge_rows: {verb: delete, target: db_rows, reversible: "no", analyze: {sql: input.sql}}
rules:
  - name: reads-are-free
    match: {verb: read}
    when: "effects.all(e, e.verb == 'read')"
    decision: allow
  - name: prod-irreversible-asks
    match: {environment: prod, verb: [delete, overwrite]}
    when: "effects.exists(e, e.reversible != 'yes')"
    decision: ask
"""


@pytest.fixture
def gateway(orders_from: OrdersFrom) -> Gateway:
    return Gateway(orders_from(ORDERS))


def submit(gateway: Gateway, tool: str, env: str = "prod", **input: Any) -> Decision:
    return gateway.decide({"tool": tool, "environment": env, "input": input})


def shapes(decision: Decision) -> list[tuple[str, str, str | None, str]]:
    return [(e.verb, e.target.kind, e.target.id, e.analyzer) for e in decision.effects]


def test_a_read_tool_carrying_a_drop_table_is_held_in_production(gateway: Gateway) -> None:
    decision = submit(gateway, "db_query", database="orders", sql="drop table customers")
    assert (decision.decision, decision.rules) == ("ask", ("prod-irreversible-asks",))
    assert shapes(decision) == [
        ("read", "db_rows", "orders", "declared:db_query"),
        ("delete", "db_table", "customers", "sql"),
    ]


def test_a_read_tool_carrying_a_select_stays_free(gateway: Gateway) -> None:
    decision = submit(gateway, "db_query", database="orders", sql="select * from customers")
    assert (decision.decision, decision.rules) == ("allow", ("reads-are-free",))


def test_every_statement_of_a_batch_counts(gateway: Gateway) -> None:
    decision = submit(gateway, "db_query", database="o", sql="select 1; delete from customers")
    assert decision.decision == "ask"
    assert ("delete", "db_rows", "customers", "sql") in shapes(decision)


def test_the_declared_effect_is_kept_when_the_code_only_reads(gateway: Gateway) -> None:
    # The analysis adds what the code does; it never takes away what the declaration says.
    decision = submit(gateway, "purge_rows", sql="select 1")
    assert (decision.decision, decision.rules) == ("ask", ("prod-irreversible-asks",))
    assert shapes(decision)[0] == ("delete", "db_rows", None, "declared:purge_rows")


@pytest.mark.parametrize(
    ("tool", "input", "field", "text"),
    [
        pytest.param("db_query", {"database": "o", "sql": "drop table t"}, "sql", "drop table t",
                     id="sql"),
        pytest.param("nested_query", {"request": {"sql": "drop table t"}}, "request.sql",
                     "drop table t", id="nested-field"),
        pytest.param("run_job", {"command": "ls", "cleanup": "rm -rf /srv/app"}, "cleanup",
                     "rm -rf /srv/app", id="second-shell-field"),
    ],
)  # fmt: skip
def test_effects_of_code_point_into_the_field_that_holds_it(
    gateway: Gateway, tool: str, input: dict[str, Any], field: str, text: str
) -> None:
    decision = submit(gateway, tool, **input)
    found = [e for e in decision.effects if e.verb == "delete"]
    assert found, shapes(decision)
    for effect in found:
        assert isinstance(effect.span, Span)
        assert effect.span.field == field
        assert 0 <= effect.span.start < effect.span.end <= len(text)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("rm -rf /srv/app", id="string"),
        pytest.param(["rm", "-rf", "/srv/app"], id="list-of-arguments"),
    ],
)
def test_a_shell_field_is_read_by_the_shell_analyzer(gateway: Gateway, command: Any) -> None:
    decision = submit(gateway, "run_job", command=command, cleanup="true")
    assert decision.decision == "ask"
    assert ("delete", "directory", "/srv/app", "shell") in shapes(decision)


def _plan() -> dict[str, Any]:
    change = {
        "address": "aws_db_instance.main",
        "mode": "managed",
        "type": "aws_db_instance",
        "change": {"actions": ["delete"], "before": {"skip_final_snapshot": True}},
    }
    return {"format_version": "1.2", "resource_changes": [change]}


@pytest.mark.parametrize(
    "plan",
    [pytest.param(_plan(), id="object"), pytest.param(json.dumps(_plan()), id="json-text")],
)
def test_a_plan_field_is_read_by_the_terraform_analyzer(gateway: Gateway, plan: Any) -> None:
    decision = submit(gateway, "apply_plan", plan=plan)
    assert decision.decision == "ask"
    deletes = [e for e in decision.effects if e.verb == "delete"]
    assert [(e.target.id, e.reversible, e.analyzer) for e in deletes] == [
        ("aws_db_instance.main", "no", "terraform")
    ]
    assert deletes[0].span == Span("plan", 0, 0)  # a plan is one document: no offsets


def test_the_dialect_comes_from_the_declaration_not_the_input(gateway: Gateway) -> None:
    # T-SQL's TOP reads in T-SQL and does not parse as PostgreSQL.
    tsql = submit(gateway, "mssql_query", env="dev", q="SELECT TOP 5 * FROM t", dialect="postgres")
    assert (tsql.decision, tsql.rules) == ("allow", ("reads-are-free",))
    claimed = submit(gateway, "db_query", database="o", sql="SELECT TOP 5 * FROM t", dialect="tsql")
    assert any("dynamic" in e.flags for e in claimed.effects)
    assert claimed.decision == "ask"


@pytest.mark.parametrize(
    ("tool", "input", "reason"),
    [
        pytest.param("db_query", {"database": "o"},
                     "tool 'db_query' declares analyze: {sql: input.sql}, but the input has no "
                     "'sql'", id="missing"),
        pytest.param("nested_query", {"request": "drop table t"},
                     "but the input has no 'request.sql'", id="parent-not-an-object"),
        pytest.param("db_query", {"database": "o", "sql": None},
                     "declares input.sql as sql, but it is null, not a string of SQL",
                     id="null"),
        pytest.param("db_query", {"database": "o", "sql": 5},
                     "it is a number, not a string of SQL", id="number"),
        pytest.param("db_query", {"database": "o", "sql": ["drop table t"]},
                     "it is a list, not a string of SQL", id="list-for-sql"),
        pytest.param("run_job", {"command": {"run": "rm -rf /"}, "cleanup": "true"},
                     "it is an object, not a command line", id="object-for-shell"),
        pytest.param("run_job", {"command": [], "cleanup": "true"},
                     "it is a list, not a command line", id="empty-argument-list"),
        pytest.param("run_job", {"command": ["rm", 5], "cleanup": "true"},
                     "it is a list, not a command line", id="argument-not-a-string"),
        pytest.param("apply_plan", {"plan": "not json"}, "it is a string, not a plan",
                     id="plan-text-not-json"),
        pytest.param("apply_plan", {"plan": [1]}, "it is a list, not a plan", id="plan-list"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("env", ["prod", "dev"])
def test_code_that_cannot_be_read_denies_naming_the_field(
    gateway: Gateway, tool: str, input: dict[str, Any], reason: str, env: str
) -> None:
    # Even in dev, which allows what no rule matches: unread code is not let through.
    decision = submit(gateway, tool, env=env, **input)
    assert decision.decision == "deny"
    assert reason in decision.reasons[0]


def test_the_declared_analyzer_keeps_to_the_analysis_time_budget(orders_from: OrdersFrom) -> None:
    from watchkeeper.analyzers import Limits, default_registry

    gateway = Gateway(orders_from(ORDERS), default_registry(Limits(budget_seconds=0.0)))
    decision = submit(gateway, "db_query", env="dev", database="o", sql="select 1")
    assert decision.decision == "deny"
    assert "analyzer 'declared:db_query' took" in decision.reasons[0]


def test_a_file_tool_reading_credentials_is_flagged_like_cat(orders_from: OrdersFrom) -> None:
    gateway = Gateway(
        orders_from("tools: {Read: {verb: read, target: file, id: input.file_path}}\n")
    )
    flags = [
        sorted(submit(gateway, "Read", file_path=path).effects[0].flags)
        for path in ("/home/me/.aws/credentials", "/etc//shadow", "/repo/README.md")
    ]
    assert flags == [["credential_access"], ["credential_access"], []]
