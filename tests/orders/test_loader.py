"""Loading standing orders, and refusing them (SPEC §5).

A file with any error is refused and every error is reported at once as ``file:line:col: message``,
naming the value and the fix. Every bad input below is a real file on disk, loaded through
:func:`watchkeeper.orders.loader.load`, and every test asserts the exact line and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from watchkeeper.errors import Issue, OrdersError
from watchkeeper.orders.loader import load

Write = Callable[..., Path]

RULE_KEYS = (
    "name, owner, description, match, when, decision, reason, approvers, timeout, on_timeout, "
    "escalate, instructions"
)
TOP_KEYS = "environments, groups, agents, tools, rules"


# --- helpers -----------------------------------------------------------------------------------


def refused(path: Path) -> list[Issue]:
    """Load ``path``, expect it refused, and return every issue."""
    with pytest.raises(OrdersError) as excinfo:
        load(path)
    issues = excinfo.value.issues
    assert issues, "an OrdersError must carry at least one issue"
    return issues


def listing(issues: list[Issue]) -> str:
    return "\n".join(str(i) for i in issues)


def only_issue(path: Path) -> Issue:
    issues = refused(path)
    assert len(issues) == 1, listing(issues)
    return issues[0]


def issue_at(issues: list[Issue], line: int, col: int) -> Issue:
    found = [i for i in issues if (i.line, i.col) == (line, col)]
    assert len(found) == 1, f"expected one issue at {line}:{col}, got:\n{listing(issues)}"
    return found[0]


def assert_issue(issue: Issue, path: Path, line: int, col: int, *parts: str) -> None:
    """The issue is at ``path:line:col`` and its message contains every one of ``parts``."""
    assert (issue.file, issue.line, issue.col) == (str(path), line, col), str(issue)
    assert str(issue).startswith(f"{path}:{line}:{col}: "), str(issue)
    for part in parts:
        assert part in issue.message, f"{part!r} not in {issue.message!r}"


def char_at(path: Path, line: int, col: int) -> str:
    """The character of the file at a 1-based line and column ('' past the end of the line)."""
    text = path.read_text(encoding="utf-8").splitlines()[line - 1]
    return text[col - 1] if col <= len(text) else ""


def positions(issues: list[Issue]) -> list[tuple[int, int]]:
    return [(i.line, i.col) for i in issues]


# --- the report itself -------------------------------------------------------------------------


def test_refusal_message_lists_every_issue_as_file_line_col(write_orders: Write) -> None:
    path = write_orders(
        """
        rulez: []
        rules:
          - name: r
            decision: maybe
        """
    )
    with pytest.raises(OrdersError) as excinfo:
        load(path)
    lines = str(excinfo.value).splitlines()
    assert lines[0] == "standing orders refused: 2 errors"
    assert lines[1] == f"{path}:1:1: unknown key 'rulez'; did you mean 'rules'?"
    assert lines[2] == f"{path}:4:15: 'maybe' is not one of allow, ask, deny"
    assert len(lines) == 3


# --- unknown keys ------------------------------------------------------------------------------


def test_unknown_top_level_key_suggests_the_closest_known_key(write_orders: Write) -> None:
    path = write_orders(
        """
        groups: {sre: [a]}
        rulez: []
        """
    )
    assert_issue(only_issue(path), path, 2, 1, "unknown key 'rulez'", "did you mean 'rules'?")


def test_unknown_key_suggests_the_closest_known_key(write_orders: Write) -> None:
    path = write_orders(
        """
        rules:
          - name: r
            decison: deny
        """
    )
    issues = refused(path)
    assert_issue(
        issue_at(issues, 3, 5), path, 3, 5, "unknown key 'decison'", "did you mean 'decision'?"
    )
    # the misspelt key is the one report: "missing decision" would say the same thing twice
    assert len(issues) == 1, listing(issues)


@pytest.mark.parametrize(
    ("text", "line", "col", "key", "known"),
    [
        pytest.param(
            """
            rules:
              - name: r
                decision: deny
                zzzqqq: 1
            """,
            4,
            5,
            "zzzqqq",
            RULE_KEYS,
            id="rule-key",
        ),
        pytest.param(
            """
            groups: {sre: [a]}
            xyzzy: 1
            """,
            2,
            1,
            "xyzzy",
            TOP_KEYS,
            id="top-level-key",
        ),
    ],
)
def test_unknown_key_with_no_close_match_lists_the_known_keys(
    write_orders: Write, text: str, line: int, col: int, key: str, known: str
) -> None:
    path = write_orders(text)
    issue = only_issue(path)
    assert_issue(issue, path, line, col, f"unknown key {key!r}", f"known keys: {known}")
    assert "did you mean" not in issue.message


# --- wrong types and missing keys --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col", "parts"),
    [
        pytest.param(
            """
            rules: hello
            """,
            1,
            8,
            ("expected a mapping with keys name,", "got 'hello'"),
            id="string-where-list-of-rules-expected",
        ),
        pytest.param(
            """
            groups: {sre: [a, b]}
            rules:
              - name: r
                decision: ask
                approvers: {group: sre, quorum: two}
            """,
            5,
            37,
            ("expected an integer", "got 'two'"),
            id="quorum-as-text",
        ),
        pytest.param(
            """
            groups: {sre: [a, b]}
            rules:
              - name: r
                decision: ask
                approvers: {group: sre, quorum: 0}
            """,
            5,
            37,
            ("must be at least 1", "got 0"),
            id="quorum-zero",
        ),
        pytest.param(
            """
            rules:
              - name: r
                decision: ask
                timeout: 30 minutes
            """,
            4,
            14,
            ("'30 minutes' is not a duration", "90s, 30m, 2h or 1d"),
            id="duration-in-words",
        ),
        pytest.param(
            """
            rules:
              - name: r
                decision: maybe
            """,
            3,
            15,
            ("'maybe' is not one of allow, ask, deny",),
            id="decision-not-in-enum",
        ),
        pytest.param(
            """
            agents:
              bot:
                charter: {tools: [refund], limits: {refund.amount: lots}}
            """,
            3,
            56,
            ("expected a number", "got 'lots'"),
            id="limit-not-a-number",
        ),
        pytest.param(
            """
            rules: [~]
            """,
            1,
            9,
            ("expected a mapping with keys name,", "got null"),
            id="null-rule",
        ),
    ],
)
def test_value_of_the_wrong_type_is_refused_at_the_value(
    write_orders: Write, text: str, line: int, col: int, parts: tuple[str, ...]
) -> None:
    path = write_orders(text)
    assert_issue(only_issue(path), path, line, col, *parts)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param(
            """
            rules:
              - decision: deny
                reason: no name
            """,
            "name",
            id="rule-without-name",
        ),
        pytest.param(
            """
            rules:
              - name: r
                reason: no decision
            """,
            "decision",
            id="rule-without-decision",
        ),
    ],
)
def test_missing_required_key_is_refused_at_the_mapping(
    write_orders: Write, text: str, key: str
) -> None:
    path = write_orders(text)
    assert_issue(only_issue(path), path, 2, 5, f"missing required key {key!r}")


# --- CEL conditions compile at load time -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        pytest.param(
            """
            rules:
              - name: r
                decision: deny
                when: input.x == ) 1
            """,
            4,
            22,
            id="plain",
        ),
        pytest.param(
            """
            rules:
              - name: r
                decision: deny
                when: 'input.x == ) 1'
            """,
            4,
            23,
            id="single-quoted",
        ),
        pytest.param(
            """
            rules:
              - name: r
                decision: deny
                when: "input.x == ) 1"
            """,
            4,
            23,
            id="double-quoted",
        ),
        pytest.param(
            """
            rules:
              - {name: r, decision: deny, when: "input.x == ) 1"}
            """,
            2,
            49,
            id="double-quoted-in-flow-mapping",
        ),
        pytest.param(
            """
            rules:
              - name: r
                decision: deny
                when: 'input.x == ''a'' ) 1'
            """,
            4,
            29,
            id="single-quoted-with-escaped-quotes",
        ),
        pytest.param(
            """
            rules:
              - name: r
                decision: deny
                when: "input.x == \\"a\\" ) 1"
            """,
            4,
            29,
            id="double-quoted-with-escapes",
        ),
        pytest.param(
            """
            rules:
              - name: r
                decision: deny
                when: input.x == 1 &&
                  input.y == ) 2
            """,
            5,
            18,
            id="plain-over-two-lines",
        ),
        pytest.param(
            """
            rules:
              - name: r
                decision: deny
                when: |
                  input.y == ) 2
            """,
            5,
            18,
            id="literal-block",
        ),
    ],
)
def test_cel_syntax_error_points_at_the_offending_character_in_the_yaml_line(
    write_orders: Write, text: str, line: int, col: int
) -> None:
    path = write_orders(text)
    assert char_at(path, line, col) == ")", "the test's own expected position is off"
    issue = only_issue(path)
    assert "condition does not compile" in issue.message
    assert "Syntax error" in issue.message
    assert (issue.line, issue.col) == (line, col), (
        f"points at {char_at(path, issue.line, issue.col)!r}: {issue}"
    )
    assert_issue(issue, path, line, col)


def test_cel_syntax_error_shows_the_expression_with_a_caret_under_the_error(
    write_orders: Write,
) -> None:
    path = write_orders(
        """
        rules:
          - name: r
            decision: deny
            when: "input.x == ) 1"
        """
    )
    issue = only_issue(path)
    assert_issue(issue, path, 4, 23, "condition does not compile", "extraneous input ')'")
    excerpt = issue.message.splitlines()[-2:]
    assert excerpt == [" | input.x == ) 1", " | ...........^"]
    # the caret sits under the ')' of the expression line
    assert excerpt[1].index("^") == excerpt[0].index(")")


def test_cel_undeclared_variable_is_refused_at_load(write_orders: Write) -> None:
    path = write_orders(
        """
        rules:
          - name: r
            decision: deny
            when: foo == 1
        """
    )
    issue = only_issue(path)
    assert_issue(issue, path, 4, 11, "condition does not compile", "undeclared reference to 'foo'")
    assert issue.message.endswith(" | foo == 1\n | ^")


@pytest.mark.parametrize(
    ("when", "col", "kind"),
    [
        pytest.param('"1 + 1"', 12, "INT", id="int"),
        pytest.param("\"'yes'\"", 12, "STRING", id="string"),
        pytest.param("1", 11, "INT", id="bare-number"),
    ],
)
def test_cel_condition_that_is_not_boolean_is_refused(
    write_orders: Write, when: str, col: int, kind: str
) -> None:
    path = write_orders(
        f"""
        rules:
          - name: r
            decision: deny
            when: {when}
        """
    )
    assert_issue(
        only_issue(path), path, 4, col, "condition does not compile", "must be true or false", kind
    )


def test_cel_in_a_tool_attribute_is_compiled_at_load(write_orders: Write) -> None:
    path = write_orders(
        """
        tools:
          refund: {verb: transfer, target: money, amount: "input.a +"}
        """
    )
    issue = only_issue(path)
    # the expression ends early: the error sits just past it, on the closing quote
    assert char_at(path, 2, 61) == '"'
    assert_issue(issue, path, 2, 61, "attribute 'amount' does not compile", " | input.a +\n")
    assert issue.message.endswith(" | .........^")


def test_valid_condition_is_compiled_once_at_load_and_runs(write_orders: Write) -> None:
    orders = load(
        write_orders(
            """
            rules:
              - name: r
                decision: deny
                when: input.x == 1
            """
        )
    )
    assert orders.conditions.program(0) is not None
    assert orders.conditions.run((0,), {"input": {"x": 1}}) == [True]
    assert orders.conditions.run((0,), {"input": {"x": 2}}) == [False]


# --- groups and quorums ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col", "parts"),
    [
        pytest.param(
            """
            groups: {sre: [a, b]}
            rules:
              - name: r
                decision: ask
                approvers: {group: sr}
            """,
            5,
            24,
            ("unknown group 'sr'", "did you mean 'sre'?", "declared: sre"),
            id="approvers",
        ),
        pytest.param(
            """
            groups: {sre: [a, b]}
            rules:
              - name: r
                decision: ask
                approvers: {group: sre}
                on_timeout: escalate
                escalate: [{after: 10m, to: leads}]
            """,
            7,
            33,
            ("unknown group 'leads'", "declare it under groups:", "declared: sre"),
            id="escalate-to",
        ),
        pytest.param(
            """
            rules:
              - name: r
                decision: ask
                escalate: [{after: 10m, to: leads}]
            """,
            4,
            33,
            ("unknown group 'leads'", "declared: none"),
            id="no-groups-at-all",
        ),
    ],
)
def test_unknown_group_is_refused_and_names_the_declared_groups(
    write_orders: Write, text: str, line: int, col: int, parts: tuple[str, ...]
) -> None:
    path = write_orders(text)
    assert_issue(only_issue(path), path, line, col, *parts)


# --- notification channels --------------------------------------------------------------------


def test_a_rule_naming_an_undeclared_channel_is_refused_with_a_suggestion(
    write_orders: Write,
) -> None:
    path = write_orders(
        """
        channels: {sre-slack: {type: slack, url: "$env:SLACK"}}
        rules:
          - name: r
            decision: ask
            notify: [sre-slak]
        """
    )
    assert_issue(only_issue(path), path, 5, 14, "unknown channel 'sre-slak'",
                 "did you mean 'sre-slack'?", "declared: sre-slack")  # fmt: skip


def test_a_channel_without_what_its_type_needs_is_refused(write_orders: Write) -> None:
    path = write_orders(
        """
        channels:
          mail: {type: email, to: [a@example.com]}
        """
    )
    assert_issue(only_issue(path), path, 2, 3, "channel 'mail' (email) needs from, smtp",
                 "'from:' and 'smtp:'")  # fmt: skip


def test_channels_load_and_rules_carry_them_into_their_approvals(write_orders: Write) -> None:
    orders = load(
        write_orders(
            """
            channels:
              hook: {type: webhook, url: "https://hooks.example.com", secret: "$env:S"}
              trail: {type: log}
            rules:
              - name: r
                decision: ask
                notify: [hook, trail]
            """
        )
    )
    assert orders.channels["hook"]["secret"] == "$env:S"  # kept as a reference, never resolved
    assert orders.rules[0].approvals[0].notify == ("hook", "trail")


def test_quorum_larger_than_its_group_is_refused(write_orders: Write) -> None:
    path = write_orders(
        """
        groups: {sre: [a, b]}
        rules:
          - name: r
            decision: ask
            approvers: {group: sre, quorum: 3}
        """
    )
    issue = only_issue(path)
    assert issue.line == 5
    assert issue.col in (24, 37), "at the group name or at the quorum"
    assert_issue(
        issue,
        path,
        5,
        issue.col,
        "quorum 3 is larger than group 'sre'",
        "2 members",
        "lower the quorum or add members",
    )


def test_quorum_equal_to_its_group_is_accepted(write_orders: Write) -> None:
    orders = load(
        write_orders(
            """
            groups: {sre: [a, b]}
            rules:
              - name: r
                decision: ask
                approvers: {group: sre, quorum: 2}
            """
        )
    )
    assert orders.rules[0].approvals[0].quorum == 2


def test_quorum_larger_than_the_listed_users_is_refused(write_orders: Write) -> None:
    path = write_orders(
        """
        rules:
          - name: r
            decision: ask
            approvers: {users: [a, b], quorum: 3}
        """
    )
    assert_issue(only_issue(path), path, 4, 40, "quorum 3 is larger than the 2 listed users")


# --- duplicates --------------------------------------------------------------------------------


def test_duplicate_rule_name_points_at_the_second_and_names_the_first(write_orders: Write) -> None:
    path = write_orders(
        """
        rules:
          - name: r
            decision: deny
          - name: r
            decision: allow
        """
    )
    assert_issue(
        only_issue(path), path, 4, 11, "duplicate rule name 'r'", f"first at {path}:2:11", "unique"
    )


def test_duplicate_rule_name_across_two_files_is_refused(write_orders: Write) -> None:
    first = write_orders("rules: [{name: r, decision: deny}]\n", "a.yaml")
    second = write_orders("rules:\n  - {name: r, decision: allow}\n", "b.yaml")
    issue = only_issue(first.parent)
    assert_issue(issue, second, 2, 12, "duplicate rule name 'r'", f"first at {first}:1:16")


def test_duplicate_yaml_key_in_a_mapping_is_refused(write_orders: Write) -> None:
    path = write_orders(
        """
        rules:
          - name: r
            decision: deny
            decision: allow
        """
    )
    assert_issue(
        only_issue(path),
        path,
        4,
        5,
        "duplicate key 'decision'",
        "first at line 3",
        "remove one",
    )


@pytest.mark.parametrize(
    ("first_text", "second_text", "section", "name", "first_col"),
    [
        pytest.param(
            "environments: {prod: {}}\n",
            "rules: []\nenvironments:\n  prod: {}\n",
            "environment",
            "prod",
            16,
            id="environment",
        ),
        pytest.param(
            "agents: {bot: {owner: x}}\n",
            "rules: []\nagents:\n  bot: {}\n",
            "agent",
            "bot",
            10,
            id="agent",
        ),
        pytest.param(
            "groups: {sre: [a]}\n",
            "rules: []\ngroups:\n  sre: [b]\n",
            "group",
            "sre",
            10,
            id="group",
        ),
        pytest.param(
            "tools: {t: {verb: read, target: x}}\n",
            "rules: []\ntools:\n  t: {verb: read, target: x}\n",
            "tool",
            "t",
            9,
            id="tool",
        ),
    ],
)
def test_name_defined_in_two_files_of_a_directory_is_refused(
    write_orders: Write,
    first_text: str,
    second_text: str,
    section: str,
    name: str,
    first_col: int,
) -> None:
    first = write_orders(first_text, "a.yaml")
    second = write_orders(second_text, "sub/b.yaml")
    assert_issue(
        only_issue(first.parent),
        second,
        3,
        3,
        f"duplicate {section} name {name!r} (first at {first}:1:{first_col})",
        "give it another name or merge the two",
    )


# --- environments ------------------------------------------------------------------------------


def test_unknown_environment_in_a_rule_match_suggests_the_close_name(write_orders: Write) -> None:
    path = write_orders(
        """
        environments: {prod: {}, dev: {}}
        rules:
          - name: r
            decision: deny
            match: {environment: prd}
        """
    )
    assert_issue(
        only_issue(path),
        path,
        5,
        26,
        "unknown environment 'prd'",
        "did you mean 'prod'?",
        "declared: prod, dev",
    )


def test_unknown_environment_in_a_charter_suggests_the_close_name(write_orders: Write) -> None:
    path = write_orders(
        """
        environments: {prod: {}, dev: {}}
        agents:
          bot:
            charter: {environments: [dev, prodd]}
        """
    )
    assert_issue(
        only_issue(path),
        path,
        4,
        35,
        "unknown environment 'prodd'",
        "did you mean 'prod'?",
        "declared: prod, dev",
    )


# --- charters ----------------------------------------------------------------------------------


def test_charter_limit_without_a_tool_part_is_refused(write_orders: Write) -> None:
    path = write_orders(
        """
        agents:
          bot:
            charter:
              tools: [refund]
              limits: {amount: 100}
        """
    )
    assert_issue(
        only_issue(path), path, 5, 16, "limit 'amount' must be written tool.field", "refund.amount"
    )


def test_charter_limit_on_a_tool_outside_the_charter_is_refused(write_orders: Write) -> None:
    path = write_orders(
        """
        agents:
          bot:
            charter:
              tools: [refund]
              limits: {send_email.count: 3}
        """
    )
    assert_issue(
        only_issue(path),
        path,
        5,
        16,
        "limit 'send_email.count' names tool 'send_email'",
        "not in this charter's tools (refund)",
        "add the tool or remove the limit",
    )


def test_null_tool_in_a_charter_with_limits_is_refused_not_a_crash(write_orders: Write) -> None:
    path = write_orders(
        """
        agents:
          bot:
            charter:
              tools: [~]
              limits: {refund.amount: 1}
        """
    )
    issues = refused(path)  # must be an OrdersError, not a TypeError
    assert_issue(issue_at(issues, 4, 15), path, 4, 15, "expected a string, got null")


# --- approvals, timeouts, escalation -----------------------------------------------------------


@pytest.mark.parametrize("decision", ["deny", "allow"])
def test_approvers_on_a_rule_that_does_not_ask_are_refused(
    write_orders: Write, decision: str
) -> None:
    path = write_orders(
        f"""
        groups: {{sre: [a]}}
        rules:
          - name: r
            decision: {decision}
            approvers: {{group: sre}}
        """
    )
    assert_issue(
        only_issue(path),
        path,
        5,
        5,
        "approvers only apply to decision: ask",
        f"this rule decides {decision}",
    )


def test_on_timeout_escalate_without_a_ladder_is_refused(write_orders: Write) -> None:
    path = write_orders(
        """
        rules:
          - name: r
            decision: ask
            on_timeout: escalate
        """
    )
    assert_issue(only_issue(path), path, 4, 17, "on_timeout: escalate needs an 'escalate:' ladder")


@pytest.mark.parametrize(
    ("timeout", "after", "after_s", "timeout_s"),
    [
        pytest.param("timeout: 30m", "1h", 3600, 1800, id="longer-than-timeout"),
        pytest.param("timeout: 30m", "30m", 1800, 1800, id="equal-to-timeout"),
        pytest.param("reason: default timeout", "2h", 7200, 3600, id="longer-than-default-1h"),
    ],
)
def test_escalation_that_can_never_happen_is_refused(
    write_orders: Write, timeout: str, after: str, after_s: int, timeout_s: int
) -> None:
    path = write_orders(
        f"""
        groups: {{sre: [a]}}
        rules:
          - name: r
            decision: ask
            {timeout}
            escalate: [{{after: {after}, to: sre}}]
        """
    )
    assert_issue(
        only_issue(path),
        path,
        6,
        24,
        f"escalation after {after_s}s never happens",
        f"times out after {timeout_s}s",
        "shorten 'after' or lengthen 'timeout'",
    )


# --- YAML itself -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col", "part"),
    [
        pytest.param(
            "rules:\n  - name: r\n   decision: deny\n",
            3,
            4,
            "expected <block end>",
            id="bad-indentation",
        ),
        pytest.param(
            "rules:\n\t- name: r\n",
            2,
            1,
            "cannot start any token",
            id="tab-indentation",
        ),
        pytest.param(
            "rules:\n  - name: 'r\n    decision: deny\n",
            4,
            1,
            "found unexpected end of stream",
            id="unterminated-quote",
        ),
    ],
)
def test_yaml_syntax_error_is_reported_with_its_position(
    write_orders: Write, text: str, line: int, col: int, part: str
) -> None:
    path = write_orders(text)
    assert_issue(only_issue(path), path, line, col, "YAML syntax error", part)


def test_yaml_syntax_error_names_where_the_unclosed_bracket_opened(write_orders: Write) -> None:
    path = write_orders(
        """
        rules:
          - name: r
            decision: [deny
        """
    )
    issue = only_issue(path)
    assert_issue(issue, path, 4, 1, "YAML syntax error", "expected ',' or ']'")
    # the end of the file is where PyYAML noticed; the fix is at the '[' on line 3, column 15
    assert re.search(r"line 3,? col(umn)? 15|3:15", issue.message), issue.message


@pytest.mark.parametrize(
    ("tag", "col"),
    [
        pytest.param("!!int", 13, id="int"),
        pytest.param("!!float", 13, id="float"),
        pytest.param("!!timestamp", 13, id="timestamp"),
        pytest.param("!!python/name:os.system", 13, id="python-tag"),
    ],
)
def test_scalar_that_yaml_cannot_construct_is_refused_not_a_crash(
    write_orders: Write, tag: str, col: int
) -> None:
    path = write_orders(
        f"""
        rules:
          - name: r
            decision: deny
            reason: {tag} abc
        """
    )
    issues = refused(path)  # an OrdersError, never a ValueError or AttributeError
    assert_issue(issue_at(issues, 4, col), path, 4, col, "cannot read scalar")


def test_non_scalar_mapping_key_is_refused(write_orders: Write) -> None:
    path = write_orders(
        """
        ? [a]
        : b
        """
    )
    assert_issue(only_issue(path), path, 1, 3, "mapping keys must be plain strings")


def test_multi_document_file_merges_its_documents(write_orders: Write) -> None:
    orders = load(
        write_orders(
            """
            groups: {sre: [a, b]}
            ---
            environments: {prod: {}}
            ---
            rules:
              - name: r
                decision: ask
                match: {environment: prod}
                approvers: {group: sre, quorum: 2}
            """
        )
    )
    assert orders.groups == {"sre": ("a", "b")}
    assert list(orders.environments) == ["prod"]
    assert [r.name for r in orders.rules] == ["r"]
    assert orders.rules[0].approvals[0].group == "sre"


def test_error_in_a_later_document_points_at_its_line_in_the_file(write_orders: Write) -> None:
    path = write_orders(
        """
        groups: {sre: [a]}
        ---
        rules:
          - name: r
            decision: deny
        ---
        groups: {sre: [b]}
        """
    )
    assert_issue(
        only_issue(path), path, 7, 10, "duplicate group name 'sre'", f"(first at {path}:1:10)"
    )


def test_yaml_1_1_no_in_a_tool_declaration_stays_the_string_no(write_orders: Write) -> None:
    orders = load(
        write_orders(
            """
            tools:
              wipe: {verb: delete, target: disk, reversible: no}
            """
        )
    )
    assert orders.tools["wipe"].reversible == "no"


@pytest.mark.parametrize(
    "value",
    ["2024-01-01", "2024-01-01T10:00:00Z", "2024-01-01 10:00:00", "no", "on", "1.0"],
)
def test_yaml_1_1_lookalikes_in_string_fields_stay_strings(write_orders: Write, value: str) -> None:
    orders = load(
        write_orders(
            f"""
            rules:
              - name: r
                decision: deny
                reason: {value}
            """
        )
    )
    assert orders.rules[0].reason == value


# --- all errors at once ------------------------------------------------------------------------


def test_several_errors_in_one_file_are_all_reported_sorted_by_position(
    write_orders: Write,
) -> None:
    path = write_orders(
        """
        rulez: 1
        groups: {sre: [a]}
        rules:
          - name: a
            decision: maybe
          - name: b
            decision: ask
            approvers: {group: sr}
          - name: c
            decision: deny
            when: foo == 1
          - name: c
            decision: deny
          - name: d
            decision: ask
            timeout: 30 minutes
        """
    )
    issues = refused(path)
    assert positions(issues) == [(1, 1), (5, 15), (8, 24), (11, 11), (12, 11), (16, 14)]
    expected = [
        "unknown key 'rulez'",
        "'maybe' is not one of",
        "unknown group 'sr'",
        "undeclared reference to 'foo'",
        "duplicate rule name 'c'",
        "'30 minutes' is not a duration",
    ]
    for issue, part in zip(issues, expected, strict=True):
        assert_issue(issue, path, issue.line, issue.col, part)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            """
            groups: {sre: [a]}
            rules:
              - name: s
                decision: ask
                when: foo == 1
                approvers: {group: nope}
            """,
            [(5, 11, "undeclared reference to 'foo'"), (6, 24, "unknown group 'nope'")],
            id="cel-error-and-unknown-group-in-one-rule",
        ),
        pytest.param(
            """
            groups: {sre: [a]}
            rules:
              - name: s
                decision: deny
                decision: deny
              - name: t
                decision: ask
                approvers: {group: nope}
            """,
            [(5, 5, "duplicate key 'decision'"), (8, 24, "unknown group 'nope'")],
            id="duplicate-yaml-key-and-unknown-group-elsewhere",
        ),
        pytest.param(
            """
            rules:
              - name: s
                decison: deny
                when: foo == 1
            """,
            [
                (3, 5, "unknown key 'decison'"),
                (4, 11, "undeclared reference to 'foo'"),
            ],
            id="misspelt-key-and-cel-error-in-one-rule",
        ),
        pytest.param(
            """
            rules:
              - name: r
                decision: deny
              - name: r
                decision: deny
                when: foo == 1
            """,
            [(4, 11, "duplicate rule name 'r'"), (6, 11, "undeclared reference to 'foo'")],
            id="duplicate-rule-with-cel-error",
        ),
        pytest.param(
            """
            rules:
              - name: r
                decision: maybe
              - name: r
                decision: deny
            """,
            [(3, 15, "'maybe' is not one of"), (4, 11, "duplicate rule name 'r'")],
            id="bad-decision-and-duplicate-rule-name",
        ),
    ],
)
def test_no_error_hides_another(
    write_orders: Write, text: str, expected: list[tuple[int, int, str]]
) -> None:
    path = write_orders(text)
    issues = refused(path)
    assert positions(issues) == [(line, col) for line, col, _ in expected], listing(issues)
    for issue, (line, col, part) in zip(issues, expected, strict=True):
        assert_issue(issue, path, line, col, part)


# --- files and directories ---------------------------------------------------------------------


def test_directory_loads_every_yaml_file_recursively(write_orders: Write) -> None:
    groups = write_orders("groups: {sre: [a]}\n", "a.yaml")
    nested = write_orders(
        "rules:\n  - {name: r, decision: ask, approvers: {group: sre}}\n", "sub/deeper/b.yaml"
    )
    yml = write_orders("rules:\n  - {name: s, decision: deny}\n", "c.yml")
    orders = load(groups.parent)
    assert sorted(r.name for r in orders.rules) == ["r", "s"]
    assert orders.groups == {"sre": ("a",)}
    assert set(orders.sources) == {str(groups), str(nested), str(yml)}


def test_directory_skips_test_files_hidden_directories_and_other_files(
    write_orders: Write,
) -> None:
    good = write_orders("rules:\n  - {name: r, decision: deny}\n", "orders.yaml")
    for name in ("orders_test.yaml", "sub/x_test.yml", ".hidden/d.yaml", "sub/.git/e.yaml"):
        write_orders("this: [is not valid\n", name)
    write_orders("this: [is not valid\n", "notes.txt")
    orders = load(good.parent)
    assert [r.name for r in orders.rules] == ["r"]
    assert orders.sources == (str(good),)


def test_directory_that_is_itself_hidden_still_loads(write_orders: Write) -> None:
    path = write_orders("rules:\n  - {name: r, decision: deny}\n", ".orders/w.yaml")
    assert [r.name for r in load(path.parent).rules] == ["r"]


def test_empty_directory_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "orders"
    empty.mkdir()
    assert_issue(only_issue(empty), empty, 1, 1, "no standing orders here", "*.yaml")


def test_directory_with_only_test_files_is_refused(write_orders: Write) -> None:
    path = write_orders("action: {}\n", "only_test.yaml")
    assert_issue(only_issue(path.parent), path.parent, 1, 1, "no standing orders here")


def test_missing_path_is_refused_and_points_at_watchkeeper_init(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert_issue(
        only_issue(missing), missing, 1, 1, "no such file or directory", "`watchkeeper init`"
    )


def test_errors_in_several_files_are_reported_together(write_orders: Write) -> None:
    first = write_orders("rulez: []\n", "a.yaml")
    second = write_orders("rules:\n  - {name: r, decision: maybe}\n", "b.yaml")
    issues = refused(first.parent)
    assert [(i.file, i.line, i.col) for i in issues] == [
        (str(first), 1, 1),
        (str(second), 2, 25),
    ]


# --- the SPEC example and the digest -----------------------------------------------------------


def test_spec_example_loads_without_error() -> None:
    orders = load(EXAMPLES / "infra" / "watchkeeper.yaml")
    assert [r.name for r in orders.rules] == [
        "prod-irreversible-needs-two-sre",
        "no-obfuscated-shell",
    ]
    assert orders.groups == {
        "sre": ("alice@example.com", "bob@example.com"),
        "sre-leads": ("carol@example.com",),
    }
    assert list(orders.agents) == ["infra-bot", "support-bot"]
    assert list(orders.environments) == ["prod", "staging", "dev"]
    assert list(orders.tools) == ["refund", "lookup_order", "send_email"]
    approval = orders.rules[0].approvals[0]
    assert (approval.group, approval.quorum, approval.timeout_seconds) == ("sre", 2, 1800)
    assert [(e.after_seconds, e.to) for e in approval.escalate] == [(600, "sre-leads")]
    charter = orders.agents["support-bot"].charter
    assert charter is not None
    assert charter.limits == {("refund", "amount"): 100}


VALID = """
groups: {sre: [a, b]}
rules:
  - name: r
    decision: ask
    approvers: {group: sre, quorum: 2}
    timeout: 30m
"""


def test_digest_is_a_sha256_and_stable_across_reloads(write_orders: Write) -> None:
    path = write_orders(VALID)
    first = load(path).digest
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", first)
    assert load(path).digest == first


def test_digest_ignores_comments_whitespace_and_flow_style(write_orders: Write) -> None:
    before = load(write_orders(VALID, "a.yaml")).digest
    reformatted = """
    # the on-call policy
    groups:
      sre:
        - a        # alice
        - b

    rules:
      - {name: r,   decision: ask, approvers: {group: sre, quorum: 2}, timeout: 30m}

    """
    assert load(write_orders(reformatted, "b.yaml")).digest == before


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("decision: ask", "decision: ask\n    reason: why", id="reason-added"),
        pytest.param("quorum: 2", "quorum: 1", id="quorum"),
        pytest.param("timeout: 30m", "timeout: 31m", id="timeout"),
        pytest.param("name: r", "name: r2", id="name"),
    ],
)
def test_digest_changes_when_a_rule_changes(write_orders: Write, old: str, new: str) -> None:
    before = load(write_orders(VALID, "a.yaml")).digest
    assert old in VALID
    after = load(write_orders(VALID.replace(old, new), "b.yaml")).digest
    assert after != before
