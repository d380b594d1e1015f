"""Hypothesis over every analyzer: random text, shell-like and SQL-like grammars, random plan JSON.

Whatever the input: no exception escapes, every action gets a decision, effects are well formed,
huge or deeply nested input is bounded (``dynamic``, or a ``deny`` naming the limit), and
analysis never starts a process, opens a socket or writes a file.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper.analyzers.shell import analyze
from watchkeeper.analyzers.sql import statements
from watchkeeper.analyzers.terraform import plan_effects
from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import builtin

GATEWAY = Gateway(builtin())


class Ran(AssertionError):
    """Analysis tried to run, connect or write."""


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to start a process, connect or open a file for writing fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Ran(f"analysis tried to run something: {args[:2]!r}")

    real_open = open

    def read_only_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+"):
            raise Ran(f"analysis tried to write {file!r}")
        return real_open(file, mode, *args, **kwargs)

    for name in ("Popen", "run", "call", "check_call", "check_output"):
        monkeypatch.setattr(subprocess, name, refuse)
    for name in ("system", "popen", "execv", "execve", "execvp", "spawnv", "fork", "remove"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse)
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr("builtins.open", read_only_open)


def decide(tool: str, payload: dict[str, Any]) -> str:
    decision = GATEWAY.decide({"tool": tool, "environment": "prod", "input": payload})
    assert decision.decision in ("allow", "ask", "deny")
    assert all(e.problems() == [] for e in decision.effects)
    return decision.decision


SHELL_WORDS = st.sampled_from(
    """rm -rf / /tmp/x ~ . * | || && ; & $( ) ` ' " bash sh -c eval sudo env timeout 5 xargs
    find -delete -exec {} \\; $X X=rm ${IFS} <<EOF EOF <<< > >> 2>&1 base64 -d curl | git push
    --force reset --hard terraform destroy kubectl delete ns aws s3 rm --recursive psql DROP
    TABLE python3 -e node ssh host docker exec parallel ::: busybox rsync --delete --help
    --dry-run ( ) { } [[ ]] if then fi for in do done while case esac""".split()
)
SHELLISH = st.lists(st.one_of(SHELL_WORDS, st.text(max_size=6)), max_size=30).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SHELLISH)
def test_shell_grammar(text: str) -> None:
    assert analyze(text)
    decide("shell", {"command": text})


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_shell_random_text(text: str) -> None:
    decide("shell", {"command": text})


SQL_WORDS = st.sampled_from(
    """SELECT * FROM t WHERE 1=1 OR x = x ; DELETE UPDATE SET a = 1 DROP TABLE DATABASE
    TRUNCATE ALTER ADD COLUMN CONSTRAINT PRIMARY KEY USING INDEX GRANT ALL ON TO REVOKE
    EXPLAIN ANALYZE COPY PROGRAM INTO OUTFILE /*! */ -- \n ( ) ' " ` CREATE DOMAIN SCHEMA
    COMMENT IS BEGIN COMMIT START TRANSACTION MERGE USING WHEN MATCHED THEN xp_cmdshell
    EXEC""".split()
)
SQLISH = st.lists(st.one_of(SQL_WORDS, st.text(max_size=5)), max_size=40).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SQLISH, st.sampled_from(["postgres", "mysql", "sqlite", "tsql", "snowflake", "bigquery"]))
def test_sql_grammar(text: str, dialect: str) -> None:
    assert statements(text, dialect)
    decide("sql", {"statement": text, "dialect": dialect})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)
ACTIONS = st.lists(
    st.sampled_from(["create", "delete", "update", "read", "no-op", "forget", "bogus"]),
    max_size=3,
)
CHANGE = st.fixed_dictionaries(
    {
        "address": st.one_of(st.text(max_size=20), JSON),
        "type": st.one_of(
            st.sampled_from(["aws_db_instance", "aws_s3_bucket", "aws_security_group", "x"]),
            JSON,
        ),
        "mode": st.one_of(st.sampled_from(["managed", "data"]), JSON),
        "change": st.one_of(
            st.fixed_dictionaries(
                {"actions": st.one_of(ACTIONS, JSON), "before": JSON, "after": JSON}
            ),
            JSON,
        ),
    }
)
PLANS = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {
            "format_version": st.one_of(st.just("1.2"), JSON),
            "resource_changes": st.one_of(st.lists(CHANGE, max_size=8), JSON),
        }
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PLANS)
def test_random_plan_json(plan: Any) -> None:
    assert plan_effects(plan)
    decide("terraform", {"plan": plan})


def nested(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@pytest.mark.parametrize(
    ("tool", "payload"),
    [
        ("shell", {"command": "rm -rf /srv; " * 20_000}),
        ("shell", {"command": "$(" * 5_000 + "rm -rf /" + ")" * 5_000}),
        ("shell", {"command": "eval " * 200 + "rm -rf /srv"}),  # past the depth bound
        ("sql", {"statement": "SELECT 1; " * 30_000}),
        ("sql", {"statement": "SELECT " + "(" * 5_000 + "1" + ")" * 5_000}),
        ("terraform", {"plan": nested(5_000)}),
        ("terraform", {"plan": {"resource_changes": [nested(3_000)]}}),
        ("shell", {"command": "ls", "extra": nested(5_000)}),
    ],
)
def test_huge_and_deep_input_is_bounded(tool: str, payload: dict[str, Any]) -> None:
    # What earlier tests left for the collector is finalized here, at a shallow depth: a
    # finalizer run during the deep parse below would report its own warning with too little
    # stack left to format it (an unraisable RecursionError that is not this test's).
    gc.collect()
    decision = GATEWAY.decide({"tool": tool, "environment": "prod", "input": payload})
    assert decision.decision != "allow"
    flagged = any("dynamic" in e.flags for e in decision.effects)
    assert flagged or decision.decision == "deny", decision.reasons


def test_the_guard_itself_catches_running() -> None:
    with pytest.raises(Ran):
        subprocess.run(["true"], check=False)
    with pytest.raises(Ran), open(os.devnull, "w") as sink:
        json.dump({}, sink)
