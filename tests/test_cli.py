"""The ``watchkeeper`` command, run in-process; every assertion shows the output on failure."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES
from watchkeeper import __version__
from watchkeeper.cli import app

ORDERS = str(EXAMPLES / "infra")
ACTIONS = EXAMPLES / "actions"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    monkeypatch.chdir(tmp_path)  # no ./watchkeeper.yaml unless a test writes one
    monkeypatch.delenv("WATCHKEEPER_ORDERS", raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> object:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke


def test_version(run) -> None:
    result = run("--version")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"watchkeeper {__version__}"


@pytest.mark.parametrize(
    ("action", "decision", "code"),
    [
        ("refund-within-charter.json", "allow", 0),
        ("refund-over-limit.json", "ask", 10),
        ("drop-table-prod.json", "ask", 10),
        ("query-drops-table-prod.json", "ask", 10),
        ("malformed.json", "deny", 20),
    ],
)
def test_check_exit_codes_follow_the_decision(run, action: str, decision: str, code: int) -> None:
    plain = run("check", "--orders", ORDERS, "--json", str(ACTIONS / action))
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout)["decision"] == decision
    coded = run("check", "--orders", ORDERS, "--exit-code", str(ACTIONS / action))
    assert coded.exit_code == code, coded.output


def test_check_prints_a_readable_panel(run) -> None:
    result = run("check", "--orders", ORDERS, str(ACTIONS / "drop-table-prod.json"))
    assert result.exit_code == 0, result.output
    for text in ("ASK", "prod-irreversible-needs-two-sre", "2 of group sre", "Snapshot first"):
        assert text in result.output


def test_check_reads_stdin(run) -> None:
    action = json.dumps({"tool": "Read", "environment": "prod", "input": {"file_path": "/x"}})
    result = run("check", "--json", "-", input=action)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decision"] == "allow"


def test_check_without_orders_uses_the_builtin_defaults_and_says_so(run) -> None:
    action = json.dumps({"tool": "delete_file", "environment": "prod", "input": {"path": "/x"}})
    result = run("check", "--json", "-", input=action)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rules"] == ["prod-irreversible-needs-two"]
    assert result.stderr.startswith("note: no --orders, no WATCHKEEPER_ORDERS")


def test_check_prefers_local_watchkeeper_yaml(run, tmp_path: Path) -> None:
    (tmp_path / "watchkeeper.yaml").write_text("rules: [{name: no, decision: deny}]\n")
    result = run("check", "--json", "-", input='{"tool": "Read"}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rules"] == ["no"]


def test_check_orders_from_environment_variable(run, monkeypatch, tmp_path: Path) -> None:
    orders = tmp_path / "o.yaml"
    orders.write_text("rules: [{name: env-orders, decision: deny}]\n")
    monkeypatch.setenv("WATCHKEEPER_ORDERS", str(orders))
    result = run("check", "--json", "-", input='{"tool": "x"}')
    assert json.loads(result.stdout)["rules"] == ["env-orders"], result.output


def test_check_malformed_json_is_a_deny_naming_the_problem(run) -> None:
    result = run("check", "--json", "--exit-code", "-", input="{not json")
    assert result.exit_code == 20, result.output
    reason = json.loads(result.stdout)["reasons"][0]
    assert reason.startswith("invalid action: the action is not JSON")
    assert "line 1 column 2" in reason


def test_check_jsonl_decides_each_line_in_order_and_survives_bad_lines(run) -> None:
    lines = [
        json.dumps({"tool": "Read", "environment": "dev", "input": {"file_path": "/a"}}),
        "{broken",
        "",
        json.dumps({"input": {}}),
        json.dumps({"tool": "delete_file", "environment": "prod", "input": {"path": "/a"}}),
    ]
    result = run("check", "--jsonl", "--exit-code", input="\n".join(lines) + "\n")
    assert result.exit_code == 20, result.output
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["decision"] for d in decisions] == ["allow", "deny", "deny", "ask"]
    assert decisions[1]["reasons"][0].startswith("line 2: invalid action: the action is not JSON")
    assert decisions[2]["reasons"][0].startswith("line 4: invalid action: tool:")


def test_check_jsonl_exit_code_is_the_most_restrictive(run) -> None:
    lines = [
        json.dumps({"tool": "Read", "environment": "dev", "input": {"file_path": "/a"}}),
        json.dumps({"tool": "Edit", "environment": "prod", "input": {"file_path": "/a"}}),
    ]
    result = run("check", "--jsonl", "--exit-code", input="\n".join(lines))
    assert result.exit_code == 10, result.output


def test_missing_action_file_is_a_usage_error(run) -> None:
    result = run("check", "no-such-file.json")
    assert result.exit_code == 2, result.output
    assert "cannot read action file 'no-such-file.json'" in result.output


def test_refused_orders_exit_2_listing_every_error(run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: a\n    decison: deny\n  - name: b\n    decision: maybe\n")
    result = run("check", "--orders", str(bad), "-", input='{"tool": "x"}')
    assert result.exit_code == 2, result.output
    assert f"{bad}:3:5: unknown key 'decison'; did you mean 'decision'?" in result.output
    assert f"{bad}:5:15: 'maybe' is not one of allow, ask, deny" in result.output


def test_lint_ok_and_errors(run, tmp_path: Path) -> None:
    good = run("lint", ORDERS)
    assert good.exit_code == 0, good.output
    assert "ok: 6 rules" in good.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: a\n    decision: deny\n    when: 'input.x >'\n")
    result = run("lint", str(bad))
    assert result.exit_code == 1, result.output
    assert f"{bad}:4:" in result.output
    assert "^" in result.output


def test_lint_also_checks_the_test_files(run, tmp_path: Path) -> None:
    (tmp_path / "o.yaml").write_text("rules: [{name: a, decision: deny}]\n")
    (tmp_path / "o_test.yaml").write_text("cases:\n  - name: x\n    action: {tool: t}\n")
    result = run("lint", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert "o_test.yaml:2:5: missing required key 'expect'" in result.output


def test_explain_shows_every_rule(run) -> None:
    result = run("explain", "--orders", ORDERS, str(ACTIONS / "refund-over-limit.json"))
    assert result.exit_code == 0, result.output
    for text in ("no-obfuscated-shell", "not selected", "support-within-charter", "matched"):
        assert text in result.output
    assert "over its charter limit" in result.output


def test_explain_json(run) -> None:
    result = run("explain", "--json", "--orders", ORDERS, str(ACTIONS / "drop-table-prod.json"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    verdicts = {r["rule"]: r["status"] for r in data["rules"]}
    assert verdicts["prod-irreversible-needs-two-sre"] == "matched"
    assert verdicts["no-obfuscated-shell"] == "not selected"
    assert data["decision"]["decision"] == "ask"


def test_init_writes_defaults_that_pass_their_tests(run, tmp_path: Path) -> None:
    result = run("init")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "watchkeeper.yaml").exists()
    assert (tmp_path / "watchkeeper_test.yaml").exists()
    tested = run("test")
    assert tested.exit_code == 0, tested.output
    again = run("init")
    assert again.exit_code == 2, again.output
    assert "already exists" in again.output
    assert run("init", "--force").exit_code == 0


@pytest.mark.parametrize("profile", ["workstation", "infra", "support"])
def test_init_writes_each_profile_with_tests_that_pass(run, tmp_path: Path, profile: str) -> None:
    result = run("init", "--profile", profile)
    assert result.exit_code == 0, result.output
    tested = run("test", "--min-coverage", "100")
    assert tested.exit_code == 0, tested.output
    assert " 0 failed" in tested.output


def test_init_refuses_an_unknown_profile_naming_the_profiles(run, tmp_path: Path) -> None:
    result = run("init", "--profile", "laptop")
    assert result.exit_code == 2
    assert "'laptop' is not a profile; use one of: workstation, infra, support" in result.output
    assert not (tmp_path / "watchkeeper.yaml").exists()


def test_test_runs_cases_and_reports_coverage(run) -> None:
    result = run("test", ORDERS)
    assert result.exit_code == 0, result.output
    assert "PASS dropping a production table needs two SREs" in result.output
    assert "14 passed, 0 failed" in result.output
    low = run("test", ORDERS, "--min-coverage", "90")
    assert low.exit_code == 1, low.output
    assert "below the required 90%" in low.output


def test_test_reports_a_failing_case_with_its_position(run, tmp_path: Path) -> None:
    where = tmp_path / ("deep-" * 20)  # a path longer than the terminal is wide
    where.mkdir()
    (where / "o.yaml").write_text("rules: [{name: a, match: {tool: t}, decision: deny}]\n")
    (where / "o_test.yaml").write_text(
        "cases:\n  - name: t is allowed\n    action: {tool: t}\n    expect: {decision: allow}\n"
    )
    result = run("test", str(where / "o.yaml"))
    assert result.exit_code == 1, result.output
    assert "FAIL t is allowed" in result.output
    assert f"{where / 'o_test.yaml'}:2:5" in result.output  # whole, on one line
    assert "expected allow, got deny" in result.output


def test_test_json_output(run) -> None:
    result = run("test", "--json", ORDERS)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["passed"], data["failed"], data["coverage"]) == (14, 0, 83.3)
    assert data["rules"]["no-obfuscated-shell"] == 0


def test_test_without_test_files_fails(run, tmp_path: Path) -> None:
    (tmp_path / "o.yaml").write_text("rules: []\n")
    result = run("test", str(tmp_path / "o.yaml"))
    assert result.exit_code == 2, result.output
    assert "no *_test.yaml files" in result.output


def test_builtin_defaults_pass_their_own_tests(run) -> None:
    result = run("test")
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output


def test_console_script_is_installed_and_runs() -> None:
    script = Path(sys.executable).with_name("watchkeeper")
    done = subprocess.run(
        [str(script), "check", "--exit-code", "--orders", ORDERS, str(ACTIONS / "malformed.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 20, done.stdout + done.stderr


@pytest.mark.parametrize("tool", ["[/]", "[red]x", "[bold]"])
def test_markup_in_an_action_is_shown_verbatim_never_interpreted(run, tool: str) -> None:
    action = json.dumps({"tool": tool, "environment": "prod"})
    checked = run("check", "--exit-code", "--orders", ORDERS, "-", input=action)
    assert checked.exit_code == 10, checked.output
    assert tool in checked.output
    explained = run("explain", "--orders", ORDERS, "-", input=action)
    assert explained.exit_code == 0, explained.output
    assert f"tool {tool!r}" in explained.output


def test_duplicate_json_keys_are_refused(run) -> None:
    action = '{"tool": "refund", "input": {"amount": 5000, "amount": 5}}'
    result = run("check", "--json", "--exit-code", "-", input=action)
    assert result.exit_code == 20, result.output
    assert json.loads(result.stdout)["reasons"] == [
        "invalid action: duplicate key 'amount' at $.input; send each key once"
    ]


def test_deeply_nested_json_is_a_deny_not_a_crash(run) -> None:
    action = '{"tool": "t", "input": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    result = run("check", "--json", "--exit-code", "-", input=action)
    assert result.exit_code == 20, result.output
    assert json.loads(result.stdout)["reasons"] == [
        "invalid action: the action nests arrays and objects more than 64 levels deep; flatten it"
    ]


def test_an_integer_too_long_to_read_is_a_deny(run) -> None:
    action = '{"tool": "x", "input": {"a": ' + "9" * 5000 + "}}"
    result = run("check", "--json", "--exit-code", "-", input=action)
    assert result.exit_code == 20, result.output
    assert json.loads(result.stdout)["reasons"][0].startswith(
        "invalid action: the action holds an integer too long"
    )


def test_jsonl_goes_on_after_a_line_that_cannot_be_read(run) -> None:
    lines = ['{"tool": "x", "input": {"a": ' + "9" * 5000 + "}}", '{"tool": "Read"}']
    result = run("check", "--jsonl", input="\n".join(lines))
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2


def test_an_empty_jsonl_batch_is_an_error(run) -> None:
    result = run("check", "--jsonl", "--exit-code", input="\n\n")
    assert result.exit_code == 2, result.output
    assert "no actions read" in result.output


def test_test_honours_orders_option_and_variable(run, monkeypatch) -> None:
    by_option = run("test", "--orders", ORDERS)
    assert by_option.exit_code == 0, by_option.output
    assert "14 passed, 0 failed" in by_option.output
    monkeypatch.setenv("WATCHKEEPER_ORDERS", ORDERS)
    by_variable = run("test")
    assert by_variable.exit_code == 0, by_variable.output
    assert "14 passed, 0 failed" in by_variable.output


def test_a_test_case_with_an_invalid_action_is_refused(run, tmp_path: Path) -> None:
    (tmp_path / "o.yaml").write_text("rules: [{name: a, decision: deny}]\n")
    (tmp_path / "o_test.yaml").write_text(
        "cases:\n"
        "  - name: typo in the action\n"
        "    action: {tool: t, enviroment: prod}\n"
        "    expect: {decision: deny}\n"
    )
    result = run("test", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "o_test.yaml:3:13: action is invalid: enviroment: unknown field 'enviroment'" in (
        result.output
    )
    assert "did you mean 'environment'?" in result.output


def test_jsonl_decisions_name_their_input_line(run) -> None:
    lines = ['{"tool": "Read"}', "", '{"tool": "Read"}']
    result = run("check", "--jsonl", input="\n".join(lines))
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["line"] for x in result.stdout.splitlines()] == [1, 3]


def test_lint_reports_warnings_for_near_miss_names(run, tmp_path: Path) -> None:
    orders = tmp_path / "watchkeeper.yaml"
    orders.write_text(
        "agents: {support-bot: {}}\n"
        "rules: [{name: r, match: {agent: suport-bot}, decision: deny}]\n"
    )
    result = run("lint")  # ./watchkeeper.yaml by default
    assert result.exit_code == 0, result.output
    assert (
        "watchkeeper.yaml:2:34: warning: agent 'suport-bot' is not declared; "
        "did you mean 'support-bot'?" in result.stderr
    )
    assert (
        "ok: 1 rule, 0 environments, 1 agent, 0 declared tools, 0 watch rules, 1 warning"
        in result.stdout
    )


CODE_CARRIERS = """\
rules: [{name: r, decision: allow}]
tools:
  db_query: {verb: read, target: db_rows}
  report: {verb: read, target: db_rows, about: input.statement}
  run_it: {verb: execute, target: process}
  web_search: {verb: read, target: message, analyze: {}}
  runSql: {verb: read, target: db_rows, analyze: {sql: input.sql}}
"""
CODE_CARRIER_TESTS = """\
cases:
  - name: a case with no input says nothing
    action: {tool: run_it}
    expect: {decision: allow}
  - name: runs a job
    action: {tool: run_it, input: {cmd: ls}}
    expect: {decision: allow}
  - name: searches the web
    action: {tool: web_search, input: {query: weather}}
    expect: {decision: allow}
"""


def test_lint_warns_about_declared_tools_that_look_like_they_carry_code(
    run, tmp_path: Path
) -> None:
    (tmp_path / "watchkeeper.yaml").write_text(CODE_CARRIERS)
    (tmp_path / "watchkeeper_test.yaml").write_text(CODE_CARRIER_TESTS)
    result = run("lint")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if ": warning: " in line]
    fix = "or write `analyze: {}` if the tool carries none"
    assert warnings == [
        "watchkeeper.yaml:3:3: warning: tool 'db_query' looks like it carries SQL (its name "
        "says 'query'), but its declaration names no field to analyze, so that SQL is never "
        f"read; name it, e.g. `analyze: {{sql: input.sql}}`, {fix}",
        "watchkeeper.yaml:4:3: warning: tool 'report' looks like it carries SQL (it reads "
        "input.statement), but its declaration names no field to analyze, so that SQL is "
        f"never read; name it, e.g. `analyze: {{sql: input.statement}}`, {fix}",
        "watchkeeper.yaml:5:3: warning: tool 'run_it' looks like it carries a shell command "
        "(its test at watchkeeper_test.yaml:5:5 sends input.cmd), but its declaration names no "
        "field to analyze, so that shell command is never read; name it, e.g. "
        f"`analyze: {{shell: input.cmd}}`, {fix}",
    ]
    assert "5 declared tools, 0 watch rules, 3 warnings" in result.stdout
    as_json = run("lint", "--json")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert [(w["line"], w["col"]) for w in data["warnings"]] == [(3, 3), (4, 3), (5, 3)]


def test_lint_json(run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [{name: a, decison: deny}]\n")
    result = run("lint", "--json", str(bad))
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert data["errors"] == [
        {
            "file": str(bad),
            "line": 1,
            "col": 19,
            "message": "unknown key 'decison'; did you mean 'decision'?",
        }
    ]


def test_a_test_expecting_an_unknown_rule_suggests_the_real_one(run, tmp_path: Path) -> None:
    (tmp_path / "o.yaml").write_text("rules: [{name: big-refunds, decision: deny}]\n")
    (tmp_path / "o_test.yaml").write_text(
        "cases:\n"
        "  - name: x\n"
        "    action: {tool: t}\n"
        "    expect: {decision: deny, rules: [big-refund]}\n"
    )
    result = run("test", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert "expects rule 'big-refund', which these orders do not have; did you mean" in (
        result.output
    )


def test_init_into_a_directory(run, tmp_path: Path) -> None:
    target = tmp_path / "policy"
    target.mkdir()
    result = run("init", str(target) + "/")
    assert result.exit_code == 0, result.output
    assert (target / "watchkeeper.yaml").is_file()
    assert (target / "watchkeeper_test.yaml").is_file()


def test_a_rule_that_fails_closed_neither_passes_nor_counts(run, tmp_path: Path) -> None:
    (tmp_path / "o.yaml").write_text(
        "rules:\n"
        "  - {name: big-refund, match: {tool: refund}, when: 'input.amout > 1', decision: deny}\n"
    )
    (tmp_path / "o_test.yaml").write_text(
        "cases:\n"
        "  - name: big refunds are denied\n"
        "    action: {tool: refund, input: {amount: 5000}}\n"
        "    expect: {decision: deny, rules: [big-refund]}\n"
    )
    result = run("test", "--json", str(tmp_path))
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["rules"] == {"big-refund": 0}
    assert any("failed closed instead of deciding" in p for p in data["failures"][0]["problems"])
