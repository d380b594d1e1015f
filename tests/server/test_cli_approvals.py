"""The approver CLI against a real server: list, show, approve, deny, pause, resume."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from tests.conftest import raw_characters, untrusted
from tests.server.conftest import ACTION, Served
from tests.server.test_approvals import ask, people
from watchkeeper.cli import app

#: These talk to the server as other processes and many connections do: over a socket.
pytestmark = pytest.mark.socket

runner = CliRunner()


def cli(served: Served, token: str | None, *args: str) -> tuple[int, str, str]:
    env = {"WATCHKEEPER_SERVER": served.base, "WATCHKEEPER_TOKEN": token or "", "COLUMNS": "200"}
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_list_show_and_approve(served: Served) -> None:
    (bob,) = people(served, "bob@example.com")
    approval = ask(served)["approval_id"]
    code, out, _ = cli(served, served.approver, "approvals", "list")
    assert code == 0
    assert approval in out
    assert "0 of 2: any approver (prod-irreversible-needs-two)" in out
    code, out, _ = cli(served, served.approver, "approvals", "show", approval)
    assert code == 0
    assert "infra-bot" in out
    assert "pending" in out
    code, out, _ = cli(served, served.approver, "approvals", "approve", approval, "-m", "snap-1")
    assert code == 0
    assert "alice@example.com: approve" in out
    assert "snap-1" in out
    code, out, _ = cli(served, bob, "approvals", "approve", approval, "--json")
    assert code == 0
    assert json.loads(out)["state"] == "approved"
    code, out, _ = cli(served, served.approver, "approvals", "list")
    assert out.strip() == "no pending approvals"
    code, out, _ = cli(served, served.approver, "approvals", "list", "--state", "approved")
    assert approval in out


def test_deny_and_refusals_exit_1_with_the_servers_reason(served: Served) -> None:
    approval = ask(served)["approval_id"]
    code, out, _ = cli(served, served.approver, "approvals", "deny", approval, "-m", "freeze")
    assert code == 0
    assert "denied" in out
    code, _, err = cli(served, served.approver, "approvals", "approve", approval)
    assert code == 1
    assert "already denied" in err
    code, _, err = cli(served, served.auditor, "approvals", "approve", "nope")
    assert code == 1
    assert "no approval id starts with 'nope'" in err
    code, _, err = cli(served, served.auditor, "approvals", "approve", ask(served, "rm -rf /x")
                       ["approval_id"])  # fmt: skip
    assert code == 1
    assert "refused (403 not_eligible)" in err


def test_pause_and_resume(served: Served) -> None:
    approval = ask(served)["approval_id"]
    code, out, _ = cli(served, served.approver, "pause", "--agent", "infra-bot",
                       "--reason", "runaway", "--json")  # fmt: skip
    assert code == 0
    paused = json.loads(out)
    assert paused["cancelled"] == [approval]
    code, out, _ = cli(served, served.approver, "pause", "--reason", "everything")
    assert code == 0
    assert out.startswith("paused everything")
    code, out, _ = cli(served, served.approver, "resume", paused["id"], "--reason", "fixed")
    assert code == 0
    assert "lifted by alice@example.com" in out
    code, _, err = cli(served, served.approver, "resume", paused["id"], "--reason", "again")
    assert code == 1
    assert "already resumed" in err
    code, _, err = cli(served, served.approver, "pause", "--agent", "a", "--session", "s",
                       "--reason", "x")  # fmt: skip
    assert code == 2


def test_no_token_or_no_server_is_a_usage_error(served: Served) -> None:
    code, _, err = cli(served, None, "approvals", "list")
    assert code == 2
    assert "WATCHKEEPER_TOKEN" in err
    result = runner.invoke(
        app,
        ["approvals", "list", "--server", "http://127.0.0.1:9", "--token", "t"],
        env={"WATCHKEEPER_TOKEN": ""},
    )
    assert result.exit_code == 2
    assert "cannot be reached" in result.stderr


# ── what people and agents wrote is printed as text, never obeyed ──────────────────────────


def test_markup_in_a_comment_is_printed_as_text(served: Served) -> None:
    approval = ask(served)["approval_id"]
    comment = "[/bold] looks fine [red]to me[/red]"
    code, out, err = cli(served, served.approver, "approvals", "approve", approval, "-m", comment)
    assert code == 0, out + err
    assert f"alice@example.com: approve  {comment}" in out
    code, out, err = cli(served, served.approver, "approvals", "show", approval)  # any viewer
    assert code == 0, out + err
    assert f"alice@example.com: approve  {comment}" in out


def test_markup_in_an_email_is_printed_as_text(served: Served) -> None:
    (token,) = people(served, "[bold]x[/]@example.com")
    approval = ask(served)["approval_id"]
    code, out, err = cli(served, token, "approvals", "approve", approval)
    assert code == 0, out + err
    code, out, err = cli(served, served.approver, "approvals", "list")
    assert code == 0, out + err
    assert "[bold]x[/]@example.com:approve" in out


@pytest.mark.parametrize(
    ("comment", "seen"),
    [
        pytest.param("\x1b[2J\x1b[3J\x1b[H", "\\x1b[2J\\x1b[3J\\x1b[H", id="ESC-CSI"),
        pytest.param(
            "\x1b]8;;https://evil.example/\x1b\\the runbook\x1b]8;;\x1b\\",
            "\\x1b]8;;https://evil.example/\\x1b\\the runbook\\x1b]8;;\\x1b\\",
            id="OSC-8-link",
        ),
        pytest.param("took snap-\u202e321-pans", "took snap-\\u202e321-pans", id="U+202E"),
        pytest.param("\x9b2J\x9b1;1H", "\\x9b2J\\x9b1;1H", id="8-bit-CSI-U+009B"),
        pytest.param(
            "ok\n  vote      bob@example.com: approve",
            "ok\\n  vote      bob@example.com: approve",
            id="fake-line",
        ),
        pytest.param("ok\r  grant     used", "ok\\r  grant     used", id="carriage-return"),
        pytest.param("ok\u2028  grant     used", "ok\\u2028  grant     used", id="U+2028"),
    ],
)
def test_a_comment_is_shown_not_obeyed(served: Served, comment: str, seen: str) -> None:
    approval = ask(served)["approval_id"]
    code, voted, err = cli(served, served.approver, "approvals", "approve", approval, "-m", comment)
    assert code == 0, voted + err
    code, shown, err = cli(served, served.approver, "approvals", "show", approval)
    assert code == 0, shown + err
    # What people see of the action (the handoff) takes the same number of lines either way.
    handoff = shown.count("\n") - voted.count("\n")
    assert handoff == 7, shown  # deadline, tool, command, why, rule, do first, effect
    for out in (voted, shown):
        assert seen in out, out
        assert raw_characters(out) == [], out
        # The comment stays on its vote's line: it cannot add a line of its own.
        assert out.count("\n") == (5 if out is voted else 5 + handoff), out
        assert [line for line in out.splitlines() if line.startswith("  vote")] == [
            f"  vote      alice@example.com: approve  {seen}"
        ], out


def test_a_refusal_naming_what_was_asked_for_is_shown_not_obeyed(served: Served) -> None:
    whole = "x\x1b[2J\u202e".ljust(32, "0")  # an id in full goes to the server as it is
    code, out, err = cli(served, served.approver, "approvals", "show", whole)
    assert code == 1, out + err
    assert "no approval x\\x1b[2J\\u202e000" in err
    assert raw_characters(err) == [], err


#: Text a server keeps on either store: PostgreSQL refuses NUL in text (the server answers 500).
storable = untrusted.map(lambda text: text.replace("\x00", ""))


def _email(text: str) -> str:
    """A valid, unique address that carries ``text``: no ``@``, no whitespace, no NUL."""
    local = re.sub(r"[@\s\x00]", "_", text)
    return f"{local}.{uuid.uuid4().hex[:8]}@example.com"


@pytest.mark.slow
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one server for every example
)
@given(comment=storable, name=storable)
def test_no_approvals_output_has_a_raw_control_bidi_or_invisible_character(
    served: Served, comment: str, name: str
) -> None:
    (token,) = people(served, _email(name))
    approval = ask(served, f"rm -rf /srv/{uuid.uuid4().hex}")["approval_id"]
    runs = [
        cli(served, token, "approvals", "approve", approval, "-m", comment),
        cli(served, served.approver, "approvals", "deny", approval, "-m", comment),
        cli(served, served.approver, "approvals", "show", approval),
        cli(served, served.approver, "approvals", "show", approval, "--json"),
        cli(served, served.approver, "approvals", "list", "--state", "denied"),
        cli(served, served.approver, "approvals", "show", name or "x"),  # refused, naming it
        cli(served, token, "pause", "--session", f"s{name}", "--reason", f"why: {comment}"),
    ]
    paused = re.search(r"\(pause (\S+)\)", runs[-1][1])
    assert paused, runs[-1]
    runs.append(cli(served, token, "resume", paused[1], "--reason", f"why: {comment}"))
    assert [code for code, _, _ in runs] == [0, 0, 0, 0, 0, 1, 0, 0], runs
    for _, out, err in runs:
        assert raw_characters(out + err) == [], out + err


def test_show_prints_the_whole_packet_and_list_says_what_each_is_about(served: Served) -> None:
    earlier = {**ACTION, "session": "s-7", "input": {"command": "df -h /srv"}}
    assert served.post("/v1/actions", served.agent_key, json=earlier).status_code == 200
    intent = {"goal": "free disk on the data host", "rationale": "the disk is 97% full",
              "doubts": "not sure the data is backed up",
              "evidence": ["alert DISK-17"]}  # fmt: skip
    asked = served.post("/v1/actions", served.agent_key,
                        json={**ACTION, "session": "s-7", "intent": intent}).json()  # fmt: skip
    code, out, err = cli(served, served.approver, "approvals", "show", asked["approval_id"])
    assert code == 0, out + err
    for line in ("  goal      free disk on the data host", "  because   the disk is 97% full",
                 "  doubts    not sure the data is backed up", "  evidence  alert DISK-17",
                 "  command   rm -rf /srv/data",
                 "  rule      prod-irreversible-needs-two  <builtin>/default.yaml:",
                 "  session   #"):  # fmt: skip
        assert line in out, out
    assert "df -h /srv" in out
    assert "  deadline  " in out
    code, listed, err = cli(served, served.approver, "approvals", "list")
    assert code == 0, listed + err
    assert "about" in listed
    assert "rm -rf" in listed
