"""The SQL analyzer: what each statement of a batch really does, per dialect."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.analyzers.sql import SqlAnalyzer, statements
from watchkeeper.gateway import Gateway
from watchkeeper.models import Action
from watchkeeper.orders.loader import builtin


def shape(sql: str, dialect: str = "postgres") -> list[tuple[str, str, str, str]]:
    return [(e.verb, e.target.kind, e.scope, e.reversible) for e in statements(sql, dialect)]


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "SELECT * FROM users", "postgres", [("read", "db_rows", "one", "yes")], id="select"
        ),
        pytest.param(
            "DELETE FROM users",
            "postgres",
            [("delete", "db_rows", "all", "no")],
            id="delete-no-where",
        ),
        pytest.param(
            "DELETE FROM users WHERE 1=1",
            "postgres",
            [("delete", "db_rows", "all", "no")],
            id="delete-where-1-1",
        ),
        pytest.param(
            "delete from t where x = x or 1",
            "mysql",
            [("delete", "db_rows", "all", "no")],
            id="delete-where-tautology",
        ),
        pytest.param(
            "DELETE FROM users WHERE name = 'x'",
            "postgres",
            [("delete", "db_rows", "many", "no")],
            id="delete-narrowed",
        ),
        pytest.param(
            "DELETE FROM users WHERE id = 7",
            "postgres",
            [("delete", "db_rows", "one", "no")],
            id="delete-one-by-key",
        ),
        pytest.param(
            "UPDATE users SET admin = true",
            "postgres",
            [("overwrite", "db_rows", "all", "no")],
            id="update-no-where",
        ),
        pytest.param(
            "UPDATE users SET a = 1 WHERE true",
            "postgres",
            [("overwrite", "db_rows", "all", "no")],
            id="update-where-true",
        ),
        pytest.param(
            "TRUNCATE TABLE orders", "postgres", [("delete", "db_rows", "all", "no")], id="truncate"
        ),
        pytest.param(
            "DROP TABLE orders", "postgres", [("delete", "db_table", "one", "no")], id="drop-table"
        ),
        pytest.param(
            "DROP DATABASE prod", "mysql", [("delete", "db_table", "all", "no")], id="drop-database"
        ),
        pytest.param(
            "DROP INDEX idx_a", "postgres", [("delete", "db_table", "one", "yes")], id="drop-index"
        ),
        pytest.param(
            "ALTER TABLE t DROP COLUMN c",
            "postgres",
            [("delete", "db_table", "one", "no")],
            id="alter-drop-column",
        ),
        pytest.param(
            "ALTER TABLE t ADD COLUMN c int",
            "postgres",
            [("update", "db_table", "one", "yes")],
            id="alter-add-column",
        ),
        pytest.param(
            "GRANT ALL ON t TO bob",
            "postgres",
            [("grant", "db_table", "one", "unknown")],
            id="grant",
        ),
        pytest.param(
            "INSERT INTO t VALUES (1)",
            "postgres",
            [("create", "db_rows", "one", "yes")],
            id="insert",
        ),
        pytest.param(
            "CREATE TABLE t (id int)",
            "postgres",
            [("create", "db_table", "one", "yes")],
            id="create",
        ),
        pytest.param(
            "EXPLAIN DELETE FROM t", "postgres", [("read", "db_rows", "one", "yes")], id="explain"
        ),
        pytest.param(
            "EXPLAIN ANALYZE DELETE FROM t",
            "postgres",
            [("delete", "db_rows", "all", "no")],
            id="explain-analyze-runs-it",
        ),
        pytest.param(
            "SELECT 1; DROP TABLE users",
            "postgres",
            [("read", "db_rows", "one", "yes"), ("delete", "db_table", "one", "no")],
            id="batch",
        ),
        pytest.param(
            "SELECT 1 -- harmless\n; DROP TABLE users",
            "postgres",
            [("read", "db_rows", "one", "yes"), ("delete", "db_table", "one", "no")],
            id="comment-then-statement",
        ),
        pytest.param(
            "DELETE FROM t", "mssql", [("delete", "db_rows", "all", "no")], id="mssql-alias"
        ),
    ],
)
def test_statement_effects(sql: str, dialect: str, expected: list[tuple[str, ...]]) -> None:
    assert shape(sql, {"mssql": "tsql"}.get(dialect, dialect)) == expected


@pytest.mark.parametrize(
    ("sql", "dialect", "flag"),
    [
        pytest.param("COPY t TO PROGRAM 'curl x'", "postgres", "privileged", id="copy-program"),
        pytest.param("EXEC xp_cmdshell 'dir'", "tsql", "privileged", id="xp-cmdshell"),
        pytest.param(
            "SELECT * INTO OUTFILE '/tmp/x' FROM t", "mysql", "dynamic", id="outfile-unparsed"
        ),
        pytest.param(
            "SELECT 1 /*! ; DROP TABLE x */", "mysql", "obfuscated", id="mysql-executable-comment"
        ),
        pytest.param("DROP TABLE (((", "postgres", "dynamic", id="unparsable"),
    ],
)
def test_dangerous_forms_are_flagged(sql: str, dialect: str, flag: str) -> None:
    assert any(flag in e.flags for e in statements(sql, dialect))


@pytest.mark.parametrize(
    ("sql", "dialect", "names"),
    [
        pytest.param("DROP TABLE customers", "postgres", ["customers"], id="table"),
        pytest.param(
            "DROP TABLE IF EXISTS public.a, b CASCADE",
            "postgres",
            ["public.a", "b"],
            id="several-tables",
        ),
        pytest.param("DROP DATABASE prod", "mysql", ["prod"], id="database"),
        pytest.param("DROP VIEW v", "postgres", ["v"], id="view"),
    ],
)
def test_a_drop_names_everything_it_drops(sql: str, dialect: str, names: list[str]) -> None:
    # Approvers and rules read the target: a DROP of nothing in particular hides what goes.
    assert [e.target.id for e in statements(sql, dialect)] == names


def test_into_outfile_is_egress() -> None:
    assert any(
        e.verb == "send" and "egress" in e.flags
        for e in statements("SELECT * INTO OUTFILE '/tmp/x' FROM t", "mysql")
    )


def test_the_analyzer_reads_statement_query_or_sql() -> None:
    analyzer = SqlAnalyzer()
    for key in ("statement", "query", "sql"):
        (effect,) = analyzer.analyze(Action(tool="sql", input={key: "TRUNCATE t"}))
        assert (effect.verb, effect.scope) == ("delete", "all")
    (missing,) = analyzer.analyze(Action(tool="sql", input={}))
    assert missing.verb == "unknown"
    assert "dynamic" in missing.flags


def test_too_long_sql_is_dynamic() -> None:
    (effect,) = statements("SELECT 1;" * 30_000, "postgres")
    assert (effect.verb, "dynamic" in effect.flags) == ("unknown", True)


@pytest.mark.parametrize(
    ("sql", "decision"),
    [
        ("SELECT * FROM users", "allow"),
        ("DELETE FROM users", "ask"),
        ("SELECT 1 /*! ; DROP TABLE x */", "deny"),
    ],
)
def test_sql_through_the_gateway_in_production(sql: str, decision: str) -> None:
    d = Gateway(builtin()).decide(
        {"tool": "sql", "environment": "prod", "input": {"statement": sql, "dialect": "mysql"}}
    )
    assert d.decision == decision, d.reasons


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["postgres", "mysql", "tsql", "sqlite", "nope"]))
def test_any_text_gets_effects_and_nothing_escapes(text: str, dialect: str) -> None:
    d = Gateway(builtin()).decide(
        {"tool": "sql", "environment": "prod", "input": {"statement": text, "dialect": dialect}}
    )
    assert d.decision in ("allow", "ask", "deny")
    assert d.effects or d.decision == "deny"


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t (id int) ON COMMIT DROP",
        "CREATE DOMAIN d AS TEXT",
        "ALTER TABLE a ADD CONSTRAINT a_pk PRIMARY KEY USING INDEX a_idx",
        "GRANT SELECT ON *.* TO 'readonly'@'%'",
    ],
)
def test_statements_sqlglot_keeps_as_text_are_analyzed_not_crashed(sql: str) -> None:
    analyzer = SqlAnalyzer()
    effects = analyzer.analyze(Action(tool="sql", input={"statement": sql, "dialect": "mysql"}))
    assert effects
    assert all(e.problems() == [] for e in effects)


@pytest.mark.parametrize(
    ("statement", "dialect", "verb"),
    [
        ("EXPLAIN SELECT * FROM users", "mysql", "read"),
        ("EXPLAIN DELETE FROM t", "mysql", "read"),  # EXPLAIN without ANALYZE runs nothing
        ("EXPLAIN ANALYZE DELETE FROM t", "mysql", "delete"),
        ("START TRANSACTION", "postgres", "read"),
        ("COMMENT ON COLUMN t.c IS 'an id'", "postgres", "update"),
        ("CREATE DOMAIN d AS TEXT", "postgres", "create"),
        ("CREATE SCHEMA AUTHORIZATION dbo", "tsql", "create"),
        ("GRANT ALL ON mydb.* TO 'user'@'host'", "mysql", "grant"),
        ("ALTER TABLE a ADD CONSTRAINT a_pk PRIMARY KEY USING INDEX a_idx", "postgres", "update"),
        (
            "ALTER TABLE a ADD CONSTRAINT a_pk PRIMARY KEY USING INDEX a_idx; DROP TABLE b",
            "postgres",
            "delete",
        ),
        ("ALTER TABLE sales ADD (region VARCHAR2(32))", "oracle", "update"),
    ],
)
def test_statements_sqlglot_keeps_as_text_or_reads_loosely(
    statement: str, dialect: str, verb: str
) -> None:
    assert verb in {e.verb for e in statements(statement, dialect)}


def test_an_emoji_spelt_with_joiners_is_not_hidden_text() -> None:
    found = statements('create table "👨\u200d👩\u200d👧" (id bigint)', "postgres")
    assert not any(e.flags for e in found)
    assert any("obfuscated" in e.flags for e in statements("DROP\u200d TABLE t", "postgres"))


def test_a_statement_with_a_bare_keyword_where_a_table_goes_does_not_crash() -> None:
    # Found by Hypothesis: sqlglot leaves a flag, not an expression, as the target.
    [found] = statements("DELETE SELECT", "postgres")
    assert (found.verb, found.scope) == ("delete", "all")


@pytest.mark.parametrize(
    ("statement", "dialect"),
    [
        # Found by an adversarial review: each was allowed in production before.
        pytest.param(
            "WITH d AS (DELETE FROM users RETURNING *) SELECT count(*) FROM d",
            "postgres",
            id="data-modifying-cte",
        ),
        pytest.param(
            "EXPLAIN (FORMAT JSON, ANALYZE) DELETE FROM users",
            "postgres",
            id="explain-analyze-option",
        ),
        pytest.param(
            "EXPLAIN /* x */ ANALYZE DELETE FROM users", "postgres", id="explain-comment-analyze"
        ),
        pytest.param("SET NOCOUNT ON DROP TABLE users", "tsql", id="tsql-set-then-drop"),
        pytest.param(
            "BEGIN TRY TRUNCATE TABLE users END TRY BEGIN CATCH END CATCH", "tsql", id="tsql-try"
        ),
        pytest.param("CREATE OR REPLACE TABLE users (id int)", "snowflake", id="create-or-replace"),
        pytest.param(
            "INSERT OVERWRITE TABLE users SELECT * FROM e", "spark", id="insert-overwrite"
        ),
        pytest.param(
            "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET b = NULL",
            "postgres",
            id="upsert",
        ),
        pytest.param(
            "INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE b = 1",
            "mysql",
            id="on-duplicate-key",
        ),
        pytest.param("SELECT dblink_exec('x', 'DROP TABLE users')", "postgres", id="dblink"),
        pytest.param(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
            "postgres",
            id="terminate-backend",
        ),
        pytest.param("SELECT sys_exec('rm -rf /srv')", "mysql", id="sys-exec"),
        pytest.param("SET PASSWORD FOR 'root'@'%' = 'x'", "mysql", id="set-password"),
        pytest.param("SET GLOBAL read_only = 0", "mysql", id="set-global"),
        pytest.param(
            "CREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW EXECUTE FUNCTION wipe()",
            "postgres",
            id="create-trigger",
        ),
    ],
)
def test_review_findings_are_held_in_production(statement: str, dialect: str) -> None:
    d = Gateway(builtin()).decide(
        {
            "tool": "sql",
            "environment": "prod",
            "input": {"statement": statement, "dialect": dialect},
        }
    )
    assert d.decision != "allow", [e.to_json() for e in d.effects]


@pytest.mark.parametrize(
    ("statement", "scope", "count", "column"),
    [
        ("DELETE FROM orders WHERE id = 42", "one", 1, "id"),
        ("UPDATE users SET name = 'x' WHERE id = 1017", "one", 1, "id"),
        ("DELETE FROM t WHERE id IN (1, 2, 3)", "many", 3, "id"),
        ("DELETE FROM t WHERE (id = 7) AND created < now()", "one", 1, "id"),
        ("DELETE FROM orders WHERE order_id = 7", "one", 1, "order_id"),
        ("UPDATE t AS x SET a = 1 WHERE x.id = 1", "one", 1, "id"),
        ("DELETE FROM t WHERE 42 = id", "one", 1, "id"),
    ],
)
def test_a_change_pinned_to_literal_keys_says_how_many_rows(
    statement: str, scope: str, count: int, column: str
) -> None:
    (effect,) = SqlAnalyzer().analyze(Action("sql", {"statement": statement}))
    assert (effect.scope, effect.attributes["count"], effect.attributes["bounded_by"]) == (
        scope, count, column)  # fmt: skip
    assert effect.reversible == "no"  # bounded is not undoable: the rows are still gone


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM orders WHERE user_id = 7",  # another table's key: many rows
        "DELETE FROM t WHERE name = 'x'",
        "DELETE FROM t WHERE id IN (SELECT id FROM u)",
        "DELETE FROM t WHERE id = 1 OR name = 'x'",
        "DELETE FROM t WHERE id > 5",
        "UPDATE t SET a = 1 FROM u WHERE u.id = 1",  # bounds u's rows, not t's
        "DELETE FROM t WHERE id = other_id",
    ],
)
def test_anything_else_is_not_called_bounded(statement: str) -> None:
    found = SqlAnalyzer().analyze(Action("sql", {"statement": statement}))
    assert all("bounded_by" not in e.attributes for e in found), found
    assert all(e.scope != "one" for e in found if e.verb in ("delete", "overwrite")), found


@pytest.mark.parametrize(
    ("statement", "dialect"),
    [
        ("SELECT pg_size_pretty(pg_total_relation_size('users'))", "postgres"),
        ("SELECT pg_catalog.pg_get_viewdef('v'::regclass)", "postgres"),
        ("SELECT current_setting('work_mem'), pg_backend_pid()", "postgres"),
        ("PRAGMA table_info(users)", "sqlite"),
        ("PRAGMA main.index_list(users)", "sqlite"),
        ("PRAGMA user_version", "sqlite"),
        ("PRAGMA integrity_check", "sqlite"),
    ],
)
def test_functions_and_pragmas_that_only_report_are_reads(statement: str, dialect: str) -> None:
    d = Gateway(builtin()).decide(
        {
            "tool": "sql",
            "environment": "prod",
            "input": {"statement": statement, "dialect": dialect},
        }
    )
    assert d.decision == "allow", (d.reasons, d.effects)
    assert {e.verb for e in d.effects} == {"read"}


@pytest.mark.parametrize(
    ("statement", "dialect"),
    [
        ("SELECT pg_terminate_backend(42)", "postgres"),
        ("SELECT set_config('search_path', 'evil', false)", "postgres"),
        ("SELECT evil.pg_size_pretty(1)", "postgres"),  # another schema's function of that name
        ("SELECT pg_size_pretty(my_delete())", "postgres"),
        ("PRAGMA journal_mode = DELETE", "sqlite"),
        ("PRAGMA writable_schema = 1", "sqlite"),
        ("PRAGMA optimize", "sqlite"),
        ("PRAGMA user_version = 7", "sqlite"),
    ],
)
def test_functions_and_pragmas_that_act_are_still_held(statement: str, dialect: str) -> None:
    d = Gateway(builtin()).decide(
        {
            "tool": "sql",
            "environment": "prod",
            "input": {"statement": statement, "dialect": dialect},
        }
    )
    assert d.decision != "allow", d.effects
