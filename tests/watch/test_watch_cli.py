"""``watchkeeper watch test``: recorded streams beside the orders, through the real service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from watchkeeper.cli import app

ORDERS = """\
environments:
  dev: {default: allow, unplaced: true}
rules:
  - name: no-rm-flags
    match: {tool: shell}
    when: "input.command.contains('rm -')"
    decision: deny
watch:
  - name: rephrased-after-denial
    scope: session
    when: "window.similar_denied >= 2"
    pause: session
  - name: never-raised
    when: "false"
"""
STREAM = """\
streams:
  - name: the third spelling is held
    events:
      - {at: 0s, action: {agent: a, session: s1, tool: shell, input: {command: "rm -rf /d"}}}
      - {at: 10s, action: {agent: a, session: s1, tool: shell, input: {command: "rm -fr /d"}}}
      - {at: 20s, action: {agent: a, session: s1, tool: shell, input: {command: "find /d -delete"}}}
    expect:
      alerts: [{rule: rephrased-after-denial, at: 3}]
      paused: [session a/s1]
      decisions: [deny, deny, deny]
"""


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    (tmp_path / "watchkeeper.yaml").write_text(ORDERS)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["watch", "test", *args])
    return result.exit_code, result.output


def test_a_stream_that_holds_passes_with_its_coverage(orders: Path) -> None:
    (orders / "watchkeeper_test.yaml").write_text(STREAM)
    code, output = run(str(orders))
    assert code == 0, output
    assert "ok  the third spelling is held" in output
    assert "watch rule coverage 50%" in output
    code, output = run(str(orders), "--min-coverage", "100")
    assert code == 1
    assert "(below the required 100%)" in output


def test_a_stream_that_does_not_hold_fails_saying_where_and_why(orders: Path) -> None:
    test = orders / "watchkeeper_test.yaml"
    test.write_text(STREAM.replace("at: 3}]", "at: 2}]").replace("[session a/s1]", "[]"))
    code, output = run(str(orders), "--json")
    assert code == 1
    (failure,) = json.loads(output)["failures"]
    assert failure["where"] == f"{test}:2:5"
    assert failure["problems"] == [
        "alerts differ: expected but not there: rephrased-after-denial at event 2; there but "
        "not expected: rephrased-after-denial at event 3",
        "pauses in force differ: expected but not there: none; there but not expected: "
        "session a/s1",
    ]


def test_a_malformed_stream_is_refused_with_every_error(orders: Path) -> None:
    test = orders / "watchkeeper_test.yaml"
    test.write_text(
        "streams:\n  - name: x\n    events:\n      - {at: -5s, action: {}}\n"
        "      - {at: 1, vote: {on: 0, by: b}}\n    expect: {alerts: [x]}\n"
    )
    code, output = run(str(orders))
    assert code == 2
    assert f"{test}:4:14: '-5s' is not a duration" in output
    assert f"{test}:5:14: 1 is not a duration" in output
    assert f"{test}:5:28: must be at least 1, got 0" in output
    assert f"{test}:6:23: expected a mapping with keys rule, at; got 'x'" in output
    test.write_text(
        "streams:\n  - name: x\n    start: yesterday\n    events: []\n    expect: {}\n"
        "  - name: y\n    events:\n"
        "      - {vote: {on: 3, by: bob@example.com}}\n"
        "      - {action: {tol: shell}}\n"
        "      - {action: {tool: shell}, vote: {on: 1, by: b@example.com}}\n    expect: {}\n"
    )
    code, output = run(str(orders))
    assert code == 2
    assert f"{test}:3:12: start 'yesterday' is not a time" in output
    assert f"{test}:8:21: a vote answers an earlier event; this is event 1" in output
    assert f"{test}:9:18: action is invalid" in output
    assert f"{test}:10:9: an event is an action or a vote: give one" in output


def test_streams_only_test_files_leave_watchkeeper_test_alone(orders: Path) -> None:
    (orders / "watchkeeper_test.yaml").write_text(STREAM)
    result = CliRunner().invoke(app, ["test", str(orders)])
    assert "no *_test.yaml" not in result.output


def test_the_built_in_streams_pass() -> None:
    code, output = run("--orders", str(Path(__file__).parents[2] / "src/watchkeeper/orders/"
                                       "builtin/default.yaml"))  # fmt: skip
    assert code == 0, output
    assert "7 passed, 0 failed" in output
