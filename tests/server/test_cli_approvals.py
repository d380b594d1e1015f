"""The approver CLI against a real server: list, show, approve, deny, pause, resume."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.server.conftest import Served
from tests.server.test_approvals import ask, people
from watchkeeper.cli import app

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
    assert "2 of any approver" in out
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
    assert "404" in err


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
