"""Text from agents, people and the database is printed as text, on every display path.

The approvals commands, which need a server, are tested against a real one in
``tests/server/test_cli_approvals.py``; here: the escaping itself, the decision panel,
``check``, ``explain``, ``test``, the audit commands and the identities commands.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console, RenderableType
from sqlalchemy import insert
from typer.testing import CliRunner

from tests.conftest import raw_characters, untrusted, untrusted_or_surrogates
from watchkeeper.cli import app
from watchkeeper.cli.approvals import _show, _table
from watchkeeper.decision import ApprovalRequirement, Decision, Escalation
from watchkeeper.display import decision_panel, explanation_table, report_lines
from watchkeeper.models import Effect, Target
from watchkeeper.orders.cases import Case, CaseResult, Report
from watchkeeper.orders.explain import Explanation, RuleVerdict
from watchkeeper.orders.source import Mark
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.schema import agents
from watchkeeper.terminal import json_text, shown

#: A terminal-less run: Rich writes no styling of its own, so only the content is examined.
PLAIN: dict[str, str | None] = {"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "COLUMNS": "120"}
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    # A database or a directory shared by the examples of one test, on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize(
    ("raw", "seen"),
    [
        pytest.param("café 日本 👍 👨\u200d👩\u200d👧 ❤\ufe0f 1\ufe0f\u20e3", None, id="readable"),
        pytest.param("[/bold] [red]:thumbs_up:", None, id="markup-is-text"),
        pytest.param("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H", id="ESC-CSI"),
        pytest.param(
            "\x1b]8;;https://evil.example\x1b\\docs\x1b]8;;\x1b\\",
            "\\x1b]8;;https://evil.example\\x1b\\docs\\x1b]8;;\\x1b\\",
            id="OSC-8-link",
        ),
        pytest.param("\x9b2J \x9d0;title\x9c", "\\x9b2J \\x9d0;title\\x9c", id="C1-8-bit-CSI"),
        pytest.param("a\x00b\x07c\x08d\x7f", "a\\x00b\\x07c\\x08d\\x7f", id="C0-and-DEL"),
        pytest.param("ok\ndecision: approved\r\t", "ok\\ndecision: approved\\r\\t", id="lines"),
        pytest.param("a\u2028b\u2029c\x85", "a\\u2028b\\u2029c\\x85", id="separators"),
        pytest.param(
            "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c",
            "\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069\\u200e\\u200f\\u061c",
            id="bidi",
        ),
        pytest.param(
            "r\u200bm\u200c\u200d\u2060\ufeff\u00ad",
            "r\\u200bm\\u200c\\u200d\\u2060\\ufeff\\xad",
            id="zero-width-and-format",
        ),
        pytest.param("tag\U000e0041\U000e007f", "tag\\U000e0041\\U000e007f", id="tags"),
        pytest.param("a\u00a0b\u3000c\u3164", "a\\xa0b\\u3000c\\u3164", id="blanks-not-spaces"),
        pytest.param(
            "a\u034fb\u2800c\uffa0d\u17b4",
            "a\\u034fb\\u2800c\\uffa0d\\u17b4",
            id="marks-and-letters-that-print-nothing",
        ),
        pytest.param("\ud800x\udfff", "\\ud800x\\udfff", id="lone-surrogates"),
        pytest.param("\u0378", "\\u0378", id="unassigned"),
        pytest.param("\ue000", "\\ue000", id="private-use"),
        pytest.param("e\u0301\u0301\u0301", "e\\u0301\\u0301\\u0301", id="marks-on-ascii"),
        pytest.param(
            "\u00e9\u0301\u0301\u0301", "\u00e9\u0301\u0301\\u0301", id="a-stack-past-two-marks"
        ),
        pytest.param(
            "\ufe0fx\ufe0f\ufe0e\U000e0100 \ufe0f",
            "\\ufe0fx\\ufe0f\\ufe0e\\U000e0100 \\ufe0f",  # a letter has no variants to select
            id="variation-selectors-selecting-nothing",
        ),
    ],
)
def test_shown_escapes_what_acts_on_a_terminal_or_hides(raw: str, seen: str | None) -> None:
    assert shown(raw) == (raw if seen is None else seen)


@given(value=untrusted_or_surrogates)
def test_shown_is_one_line_of_visible_text(value: str) -> None:
    out = shown(value)
    assert raw_characters(out) == []
    assert "\n" not in out
    assert "\t" not in out


@given(
    value=st.recursive(
        untrusted_or_surrogates,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(untrusted_or_surrogates, inner, max_size=3)
        ),
    )
)
def test_json_text_means_the_same_and_shows_nothing_raw(value: Any) -> None:
    for indent in (None, 2):
        out = json_text(value, indent=indent)
        assert json.loads(out) == value
        assert raw_characters(out) == []


# ── the panels, tables and reports, with every field from an agent or a person ──────────────


def _render(*renderables: RenderableType) -> str:
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    for renderable in renderables:
        console.print(renderable)
    return out.getvalue()


@EXAMPLES
@given(t=st.lists(untrusted_or_surrogates, min_size=16, max_size=16))
def test_no_panel_table_or_report_prints_a_raw_character(t: list[str]) -> None:
    effect = Effect(
        verb=t[0],
        target=Target(kind=t[1], id=t[2]),
        reversible=t[3],
        flags=frozenset([t[4]]),
        attributes={t[5]: t[6]},
        analyzer=t[7],
    )
    need = ApprovalRequirement(
        rule=t[8], group=t[9] or None, users=(t[10],), escalate=(Escalation(600, t[11]),)
    )
    decision = Decision(
        "ask",
        reasons=(t[12], t[0]),
        rules=(t[8], t[13]),
        effects=(effect,),
        approvals=(need,),
        instructions=(t[14],),
        environment=t[15] or None,
        environments=(t[15], t[1]),
        orders_digest=t[2],
        action_digest=t[3],
    )
    verdicts = tuple(
        RuleVerdict(
            rule=t[i], decision=t[i + 1], status="matched", detail=t[i + 2], environment=t[i + 3]
        )
        for i in (0, 4)
    )
    case = Case(t[4], {}, t[5], None, None, Mark(t[6], 1, 1))
    report = Report(
        results=[CaseResult(case, decision, (t[7], t[12])), CaseResult(case, decision, ())],
        coverage={t[8]: 0, t[9]: 1},
    )
    view = {
        "id": t[0],
        "state": t[1],
        "agent": t[2],
        "action_index": t[3],
        "digest": t[4],
        "required": [
            {"group": t[5], "users": [t[6]], "quorum": t[7], "rule": t[8]},
            {"users": [t[9], t[10]], "rule": t[11]},
        ],
        "votes": [{"email": t[12], "vote": t[13], "comment": t[14], "break_glass": True}],
        "consumed": True,
    }
    approvals = io.StringIO()
    _show(view, Console(file=approvals, width=100, color_system=None))
    output = "".join(
        (
            _render(decision_panel(decision, title=t[13], orders=t[14])),
            _render(explanation_table(Explanation(decision, verdicts, (t[15], t[0])))),
            _render(report_lines(report)),
            _render(_table([view, {**view, "votes": []}])),
            approvals.getvalue(),
        )
    )
    assert raw_characters(output) == [], output


def test_markup_in_a_view_is_printed_as_text() -> None:
    out = io.StringIO()
    _show(
        {
            "id": "[bold]1",
            "state": "pending",
            "agent": "[/]",
            "action_index": 0,
            "digest": "d",
            "votes": [{"email": "a@b.c", "vote": "approve", "comment": "[/bold]"}],
        },
        Console(file=out, width=100, color_system=None),
    )
    assert "approval [bold]1: pending" in out.getvalue()
    assert "a@b.c: approve  [/bold]" in out.getvalue()


# ── the commands, in-process ────────────────────────────────────────────────────────────────


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no ./watchkeeper.yaml: the built-in defaults
    monkeypatch.delenv("WATCHKEEPER_ORDERS", raising=False)
    return tmp_path


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
    """stdout and stderr of one command, which must not fail unexpectedly."""
    result = CliRunner().invoke(app, list(args), input=input, env={**PLAIN, **(env or {})})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.stdout + result.stderr


def _actions(t: list[str]) -> Iterator[dict[str, Any]]:
    yield {"tool": "shell", "environment": "prod", "input": {"command": t[0]}}
    yield {"tool": "shell", "environment": "dev", "input": {"command": f"rm -rf {t[1]}"}}
    yield {"tool": "sql", "environment": t[2], "input": {"statement": f"DROP TABLE {t[3]}"}}
    yield {"tool": t[4], "agent": t[5], "session": t[6], "input": {t[7]: t[0]}}
    yield {
        "tool": "delete_file",
        "environment": "prod",
        "input": {"path": t[1]},
        "intent": {"goal": t[2], "rationale": t[3]},
    }


@pytest.mark.slow
@settings(EXAMPLES, max_examples=12)  # three actions through five commands each: 180 runs
@given(t=st.lists(untrusted_or_surrogates, min_size=8, max_size=8))
def test_no_decision_or_explanation_prints_a_raw_character(cwd: Path, t: list[str]) -> None:
    for action in _actions(t):
        text = json.dumps(action)  # JSON escapes: lone surrogates arrive as \ud800
        outputs = [
            invoke(*args, input=text)
            for args in (
                ["check"],
                ["check", "--json"],
                ["check", "--jsonl"],
                ["explain"],
                ["explain", "--json"],
            )
        ]
        for output in outputs:
            assert raw_characters(output) == [], output


@pytest.mark.slow
@EXAMPLES
@given(t=st.lists(untrusted_or_surrogates, min_size=4, max_size=4))
def test_no_test_report_or_lint_prints_a_raw_character(cwd: Path, t: list[str]) -> None:
    rule = {"name": "no-shell", "decision": "deny", "reason": t[1], "instructions": t[2]}
    (cwd / "watchkeeper.yaml").write_text(yaml.safe_dump({"rules": [rule]}))
    action = {"tool": "shell", "input": {"command": t[3]}}
    case = {"name": t[2], "action": action, "expect": {"decision": "allow"}}
    (cwd / "watchkeeper_test.yaml").write_text(yaml.safe_dump({"cases": [case]}))
    (cwd / "named.yaml").write_text(yaml.safe_dump({"rules": [{"name": t[0], "decision": "deny"}]}))
    runs = (["test"], ["test", "--json"], ["check"], ["explain"], ["lint", "named.yaml"],
            ["lint", "named.yaml", "--json"], ["check", "--orders", "named.yaml"])  # fmt: skip
    for args in runs:
        output = invoke(*args, input=json.dumps(action))
        assert raw_characters(output) == [], output


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Store, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Store.open(url)
    try:
        yield store, {"WATCHKEEPER_DB": url, "WATCHKEEPER_AUDIT_KEY": str(tmp_path / "key")}
    finally:
        store.close()


@pytest.mark.slow
@EXAMPLES
@given(t=st.lists(untrusted, min_size=5, max_size=5))
def test_no_audit_command_prints_a_raw_character(
    db: tuple[Store, dict[str, str]], t: list[str]
) -> None:
    store, env = db
    first, _ = AuditLog(store).append(
        [
            {"kind": "decision", "time": t[0], "decision": {"decision": t[1]}, t[2]: t[3]},
            {"kind": t[4] or "x", "comment": t[0]},
        ]
    )
    for args in (
        ["show", str(first)],
        ["show", str(first + 1)],
        ["show", str(first), "--json"],
        ["tail", "-n", "2"],
        ["tail", "-n", "2", "--json"],
        ["export"],
        ["verify"],
    ):
        output = invoke("audit", *args, env=env)
        assert raw_characters(output) == [], output


@pytest.mark.slow
@EXAMPLES
@given(name=untrusted)
def test_no_identities_command_prints_a_raw_character(
    db: tuple[Store, dict[str, str]], name: str
) -> None:
    store, env = db
    with store.writing() as conn:  # as another tool, or an older version, might have written it
        conn.execute(
            insert(agents).values(name=f"{name[:150]}{uuid.uuid4().hex}", key_hash=os.urandom(32))
        )
    output = invoke("agents", "list", env=env)
    assert raw_characters(output) == [], output
    email = "".join(c for c in name if c != "@" and not c.isspace()) + f"{uuid.uuid4().hex}@x.io"
    # `--` ends the options: an address may begin with a dash (`-4f…@x.io`).
    output = invoke("users", "add", "--password-stdin", "--", email, input="p" * 16 + "\n", env=env)
    assert "added" in output, output
    assert raw_characters(output) == [], output
