"""Every effect is spelled in the vocabulary rules select by (SPEC §6).

``dropdb`` made a ``delete`` of target kind ``database``, a kind no rule can select and nothing
checked: a rule written for ``db_table`` never saw it. The built-in tables are walked here, and
the registry refuses a word outside the vocabulary from any analyzer, which fails closed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

import pytest

from watchkeeper.analyzers import (
    Registry,
    commands,
    effects,
    host,
    infra,
    packages,
    readers,
    sql,
    system,
    terraform,
    tools,
    vocabulary,
    wrappers,
)
from watchkeeper.analyzers.shell import analyze
from watchkeeper.errors import AnalyzerError
from watchkeeper.gateway import Gateway
from watchkeeper.models import (
    FLAGS,
    REVERSIBILITY,
    SCOPES,
    TARGET_KINDS,
    VERBS,
    Action,
    Effect,
    Target,
)
from watchkeeper.orders.loader import builtin, load_text


@pytest.mark.parametrize("word", sorted(effects.VOCABULARY))
def test_the_types_spell_the_models_vocabulary(word: str) -> None:
    typed, model = effects.VOCABULARY[word]
    assert typed == model


def _outside(found: Sequence[Effect]) -> list[str]:
    bad = []
    for e in found:
        problems = e.problems() + effects.outside(e)
        if e.scope not in SCOPES or e.reversible not in REVERSIBILITY:
            problems.append(f"scope {e.scope!r} / reversible {e.reversible!r}")
        if problems:
            bad.append(f"{e.verb} {e.target.kind} {e.target.id!r}: {'; '.join(problems)}")
    return bad


def _table_words(*modules: ModuleType) -> set[str]:
    """Every word of every table (frozensets and dict keys of strings) in ``modules``."""
    out: set[str] = set()
    for module in modules:
        for value in vars(module).values():
            items: Any = value.keys() if isinstance(value, dict) else value
            if isinstance(value, frozenset | dict):
                out |= {w for w in items if isinstance(w, str) and " " not in w}
    return out


_TABLES = (commands, host, infra, packages, readers, system, tools, vocabulary, wrappers)
_MANAGED = {
    w for m in packages.MANAGERS.values() for f in vars(m).values() if isinstance(f, frozenset)
    for w in f
}  # fmt: skip
WORDS = sorted(_table_words(*_TABLES) | _MANAGED)
#: Arguments every command is tried with: nothing, a file, options, a subcommand's shapes.
PROBES = ["", "x", "-f x", "--force x y", "-rf /srv", "list", "delete x", "get secret -o yaml",
          "install x", "exec -- rm -rf /srv", "-S", "-Syu", "-R x", "/etc/shadow"]  # fmt: skip
#: Tools that name their action by a subcommand: tried with every word of every table.
SUBCOMMANDED = sorted(
    {n for n, t in tools.TOOLS.items() if t.subcommands} | {"dropdb", "dropuser", "mongo"}
)


def _lines(names: Sequence[str], args: Sequence[str]) -> Iterator[str]:
    for name, arg in itertools.product(names, args):
        yield f"{name} {arg}".strip()


@pytest.mark.parametrize("name", sorted(commands.KNOWN_COMMANDS - {"[", "[["}))
def test_every_command_table_speaks_the_vocabulary(name: str) -> None:
    bad = {line: _outside(analyze(line)) for line in _lines([name], PROBES)}
    assert {k: v for k, v in bad.items() if v} == {}


@pytest.mark.parametrize("name", SUBCOMMANDED)
def test_every_subcommand_table_speaks_the_vocabulary(name: str) -> None:
    bad = {line: _outside(analyze(line)) for line in _lines([name], [f"{w} x" for w in WORDS])}
    assert {k: v for k, v in bad.items() if v} == {}


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("dropdb shop", id="dropdb"),
        pytest.param("dropuser alice", id="dropuser"),
        pytest.param("psql -c 'DROP DATABASE shop'", id="psql-drop-database"),
        pytest.param("mysql -e 'SET GLOBAL read_only = 0'", id="mysql-set-global"),
        pytest.param("mytool delete everything", id="generic-delete"),
    ],
)
def test_each_reviewed_command_speaks_the_vocabulary(line: str) -> None:
    assert _outside(analyze(line)) == []


STATEMENTS = [
    "DROP DATABASE shop",
    "DROP SCHEMA app CASCADE",
    "DROP SEQUENCE s",
    "DROP FUNCTION f",
    "DROP TABLE t",
    "SET GLOBAL read_only = 0",
    "SET PASSWORD = 'x'",
    "SET @@GLOBAL.max_connections = 1",
    "TRUNCATE t",
    "DELETE FROM t",
    "UPDATE t SET a = 1",
    "INSERT INTO t VALUES (1)",
    "GRANT ALL ON t TO bob",
    "CREATE TABLE t (a int)",
    "CREATE DOMAIN d AS int",
    "ALTER TABLE t DROP COLUMN a",
    "COPY t TO PROGRAM 'rm -rf /'",
    "SELECT * INTO OUTFILE '/tmp/x' FROM t",
    "SELECT dblink_exec('x')",
    "EXPLAIN ANALYZE DELETE FROM t",
    "COMMENT ON TABLE t IS 'x'",
    "not sql at all (",
]


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite", "tsql", "snowflake"])
@pytest.mark.parametrize("statement", STATEMENTS)
def test_every_sql_statement_speaks_the_vocabulary(statement: str, dialect: str) -> None:
    assert _outside(sql.statements(statement, dialect)) == []


def test_every_plan_effect_speaks_the_vocabulary() -> None:
    changes = [
        {"address": f"{kind}.x", "mode": "managed", "type": kind, "name": "x",
         "change": {"actions": actions, "before": {"skip_final_snapshot": True},
                    "after": {"cidr_blocks": ["0.0.0.0/0"], "from_port": 22}}}
        for kind in ("aws_db_instance", "aws_s3_bucket", "aws_security_group_rule",
                     "null_resource", "aws_lambda_invocation", "random_id")
        for actions in (["delete"], ["delete", "create"], ["update"], ["create"], ["read"])
    ]  # fmt: skip
    plan = {"format_version": "1.2", "resource_changes": [*changes, {"bad": 1}]}
    assert _outside(terraform.plan_effects(plan)) == []


class Saying:
    """An analyzer that says whatever effect it is given."""

    name = "saying"

    def __init__(self, effect: Effect) -> None:
        self.effect = effect

    def analyze(self, action: Action) -> Sequence[Effect]:
        return [self.effect]


OUTSIDE = [
    pytest.param(
        Effect("delete", Target("database", "shop")), "target kind 'database'", id="kind-database"
    ),
    pytest.param(
        Effect("delete", Target("db-table", "t")), "target kind 'db-table'", id="kind-misspelled"
    ),
    pytest.param(
        Effect("read", Target("secret"), flags=frozenset({"credential-access"})),
        "flags 'credential-access'",
        id="flag-misspelled",
    ),
    pytest.param(
        Effect("send", Target("message"), flags=frozenset({"exfiltrates"})),
        "flags 'exfiltrates'",
        id="flag-unknown",
    ),
]


@pytest.mark.parametrize(("effect", "message"), OUTSIDE)
def test_an_effect_outside_the_vocabulary_fails_the_analysis(effect: Effect, message: str) -> None:
    with pytest.raises(AnalyzerError, match=message):
        Registry().run(Saying(effect), Action("tool"))


@pytest.mark.parametrize(("effect", "message"), OUTSIDE)
def test_an_effect_outside_the_vocabulary_is_denied(effect: Effect, message: str) -> None:
    registry = Registry()
    registry.register(Saying(effect), tools=["tool"])
    decision = Gateway(builtin(), registry).decide({"tool": "tool", "environment": "dev"})
    assert decision.decision == "deny"
    assert any(message in r for r in decision.reasons), decision.reasons


def test_a_declared_tool_may_name_its_own_target_kind() -> None:
    orders = load_text(
        "environments: {dev: {default: allow}}\n"
        "tools: {lookup_order: {verb: read, target: order}}\n",
        "orders.yaml",
    )
    decision = Gateway(orders).decide({"tool": "lookup_order", "environment": "dev"})
    assert decision.decision == "allow", decision.reasons
    assert [e.target.kind for e in decision.effects] == ["order"]


def test_dropdb_deletes_a_database_rules_can_select() -> None:
    [dropped] = analyze("dropdb shop")
    assert (dropped.verb, dropped.target.kind, dropped.target.id) == ("delete", "db_table", "shop")
    assert (dropped.scope, dropped.reversible) == ("all", "no")
    assert dropped.attributes.get("object") == "database"


def test_a_rule_for_tables_holds_dropdb() -> None:
    orders = load_text(
        "environments: {dev: {default: allow}}\n"
        "rules:\n"
        "  - {name: no-table-deletes, match: {verb: delete, target: db_table}, decision: deny}\n",
        "orders.yaml",
    )
    for line in ("dropdb shop", "psql -c 'DROP DATABASE shop'"):
        decision = Gateway(orders).decide(
            {"tool": "shell", "environment": "dev", "input": {"command": line}}
        )
        assert decision.decision == "deny", (line, decision.effects)


def test_the_vocabulary_has_no_kind_the_spec_lacks() -> None:
    # "unknown" is the kind of a tool nobody describes (registry.unknown_effect).
    spec = {"file", "directory", "git_ref", "db_table", "db_rows", "cloud_resource",
            "k8s_resource", "terraform_resource", "secret", "process", "host", "money",
            "message"}  # fmt: skip
    assert set(TARGET_KINDS) == spec | {"unknown"}
    assert set(VERBS) >= {"read", "delete", "unknown"}
    assert "credential_access" in FLAGS
