"""A dialect claim cannot make a statement laxer: the ``sql`` tool's statement is read as every
dialect it may run on, and the strictest reading counts.

The agent wrote ``"dialect": "mysql"``, so ``SELECT 2 # 3; DROP TABLE users`` was read as a
comment after ``SELECT 2`` and allowed in production, while PostgreSQL reads ``#`` as an
operator and drops the table. The server behind the tool is whatever it is connected to; the
agent's word for it is a claim.
"""

from __future__ import annotations

from typing import Any

import pytest

from watchkeeper.analyzers.sql import PLAUSIBLE, SqlAnalyzer
from watchkeeper.errors import OrdersError
from watchkeeper.gateway import Gateway
from watchkeeper.models import Action, Effect
from watchkeeper.orders.loader import builtin, load_text

GATEWAY = Gateway(builtin())


def decide(statement: str, env: str, **extra: Any) -> tuple[str, tuple[str, ...]]:
    d = GATEWAY.decide(
        {"tool": "sql", "environment": env, "input": {"statement": statement, **extra}}
    )
    return d.decision, d.rules


def effects(statement: str, **extra: Any) -> list[Effect]:
    action = Action.from_json({"tool": "sql", "input": {"statement": statement, **extra}})
    return list(SqlAnalyzer().analyze(action))


#: Statements one dialect reads as harmless and another runs as a DROP.
TRICKS = [
    pytest.param("SELECT 2 # 3; DROP TABLE users", "mysql", id="hash-comment-in-mysql-only"),
    pytest.param(
        "SELECT 1 /* /* */ ; DROP TABLE users; -- */",
        "postgres",
        id="nested-comment-in-postgres-only",
    ),
    pytest.param("SELECT 1 /* /* */ ; DROP TABLE users; -- */", None, id="nested-no-claim"),
    pytest.param("SELECT 'a\\'; DROP TABLE users; --'", "mysql", id="backslash-quote"),
    pytest.param("SELECT 2 # 3; DROP TABLE users", "MySQL", id="claim-in-capitals"),
    pytest.param("SELECT 2 # 3; DROP TABLE users", "mariadb", id="claim-by-alias"),
]


@pytest.mark.parametrize(("statement", "dialect"), TRICKS)
def test_a_dialect_claim_cannot_hide_a_drop(statement: str, dialect: str | None) -> None:
    extra = {"dialect": dialect} if dialect else {}
    assert any(e.verb == "delete" for e in effects(statement, **extra)), effects(statement, **extra)


@pytest.mark.parametrize(("statement", "dialect"), TRICKS)
def test_a_dialect_trick_is_held_in_production(statement: str, dialect: str | None) -> None:
    extra = {"dialect": dialect} if dialect else {}
    decision, rules = decide(statement, "prod", **extra)
    assert decision in ("ask", "deny"), rules
    assert "reads-are-free" not in rules


def test_the_reading_that_finds_more_says_which_dialect_it_is() -> None:
    [dropped] = [e for e in effects("SELECT 2 # 3; DROP TABLE users", dialect="mysql")
                 if e.verb == "delete"]  # fmt: skip
    assert dropped.target.id == "users"
    assert dropped.attributes["dialect"] == "postgres"


@pytest.mark.parametrize(
    ("statement", "dialect"),
    [
        pytest.param("SELECT TOP 5 * FROM users", "tsql", id="top"),
        pytest.param("CREATE TABLE t (id bigserial PRIMARY KEY)", "postgres", id="bigserial"),
        pytest.param("SELECT now(), ARRAY[1, 2] FROM users", "postgres", id="array"),
    ],
)
def test_a_grammar_only_one_dialect_has_holds_nothing_by_itself(
    statement: str, dialect: str
) -> None:
    # Lexed alike by every dialect (no comments, quotes or escapes): another dialect failing
    # to parse it cannot hide a statement from the claimed one.
    assert not [e for e in effects(statement, dialect=dialect) if e.verb == "unknown"]


@pytest.mark.parametrize(
    ("statement", "dialect", "fails"),
    [
        pytest.param("SELECT `name` FROM users", "mysql", "postgres", id="backticks"),
        pytest.param("SELECT 1 # ; DROP TABLE users", "mysql", "postgres", id="hash-then-drop"),
    ],
)
def test_a_statement_another_dialect_cannot_read_is_held_with_a_reason(
    statement: str, dialect: str, fails: str
) -> None:
    unknown = [e for e in effects(statement, dialect=dialect) if e.verb == "unknown"]
    assert any(
        e.attributes.get("dialect") == fails and fails in e.attributes["why"] for e in unknown
    ), unknown
    assert decide(statement, "prod", dialect=dialect)[0] == "ask"


@pytest.mark.parametrize(
    ("statement", "dialect"),
    [
        pytest.param("SELECT * FROM users WHERE id = 1", "mysql", id="select-mysql"),
        pytest.param("SELECT * FROM users WHERE id = 1", None, id="select-no-claim"),
        pytest.param("SELECT count(*) FROM orders", "sqlite", id="select-sqlite"),
        pytest.param("SELECT 1 -- a comment everyone reads", "postgres", id="dash-comment"),
        pytest.param("/* a comment */ SELECT 1", "mysql", id="block-comment"),
        pytest.param("EXPLAIN SELECT * FROM t", "postgres", id="explain"),
    ],
)
def test_a_statement_every_dialect_reads_alike_is_unchanged(
    statement: str, dialect: str | None
) -> None:
    extra = {"dialect": dialect} if dialect else {}
    assert decide(statement, "prod", **extra) == ("allow", ("reads-are-free",))
    assert {e.verb for e in effects(statement, **extra)} == {"read"}


def test_every_plausible_dialect_is_tried() -> None:
    assert {"postgres", "mysql", "sqlite", "generic"} <= set(PLAUSIBLE)


def test_an_unknown_claim_is_denied_naming_the_dialects_read() -> None:
    # It was a silent `unknown` effect (ask); the agent could not tell what to send instead.
    d = GATEWAY.decide(
        {"tool": "sql", "environment": "dev", "input": {"statement": "SELECT 1", "dialect": "db2"}}
    )
    assert d.decision == "deny"
    assert "input.dialect: dialect 'db2' is not one watchkeeper reads" in d.reasons[0]
    assert "postgresql" in d.reasons[0]
    assert "tsql" in d.reasons[0]


@pytest.mark.parametrize(
    ("written", "meant"),
    [("postgresql", "postgres"), ("PG", "postgres"), (" PostgreSQL ", "postgres"),
     ("mssql", "tsql"), ("sqlserver", "tsql"), ("mariadb", "mysql"), ("ansi", "generic"),
     ("generic", "generic")],
)  # fmt: skip
def test_the_names_people_write_for_a_dialect_are_read_as_it(written: str, meant: str) -> None:
    statement = "DELETE FROM users WHERE id = 42; SELECT 1 -- x"
    as_written = GATEWAY.decide(
        {
            "tool": "sql",
            "environment": "prod",
            "input": {"statement": statement, "dialect": written},
        }
    )
    as_meant = GATEWAY.decide(
        {"tool": "sql", "environment": "prod", "input": {"statement": statement, "dialect": meant}}
    )
    assert as_written.effects == as_meant.effects
    assert as_written.decision == as_meant.decision


def test_orders_accept_those_names_and_refuse_others_naming_the_accepted_ones() -> None:
    template = (
        "tools:\n  db_query: {{verb: read, target: db_rows,"
        " analyze: {{sql: input.sql, dialect: {dialect}}}}}\n"
    )
    accepted = load_text(template.format(dialect="postgresql"), "orders.yaml")
    assert accepted.tools["db_query"]
    with pytest.raises(OrdersError) as refused:
        load_text(template.format(dialect="db2"), "orders.yaml")
    message = str(refused.value)
    assert "orders.yaml:2:" in message
    assert "'db2' is not one of" in message
    assert "sqlserver" in message


def test_a_declared_tools_dialect_is_the_integrators_and_is_trusted() -> None:
    # The declaration names the server (the integrator wrote it); the agent's input does not.
    orders_yaml = (
        "environments: {prod: {default: ask}}\n"
        "tools:\n"
        "  db_query: {verb: read, target: db_rows,"
        " analyze: {sql: input.sql, dialect: mysql}}\n"
        "rules:\n"
        "  - {name: reads, match: {verb: read}, when: \"effects.all(e, e.verb == 'read')\","
        " decision: allow}\n"
    )
    gateway = Gateway(load_text(orders_yaml, "orders.yaml"))
    d = gateway.decide(
        {"tool": "db_query", "environment": "prod", "input": {"sql": "SELECT `a` FROM t"}}
    )
    assert d.decision == "allow", d.reasons


def test_the_dialects_written_out_are_the_ones_sqlglot_reads() -> None:
    from sqlglot.dialects import Dialects

    from watchkeeper.dialects import KNOWN

    assert set(KNOWN) == {d.value for d in Dialects if d.value} | {"generic"}
