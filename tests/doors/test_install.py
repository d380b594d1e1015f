"""``watchkeeper install claude-code``: merged into the settings idempotently, other settings
kept, a backup made, removed exactly; and the installed command line, run as Claude Code runs
it, answers."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from watchkeeper.cli import app
from watchkeeper.doors.install import hook_commands, merged, removed

GUARD = {"type": "command", "command": "other-guard"}
OTHER = {"model": "opus", "permissions": {"allow": ["Bash(ls:*)"]},
         "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [GUARD]}]}}  # fmt: skip
DESTROY = {"command": "terraform destroy -auto-approve"}
EVENT = {"session_id": "s", "transcript_path": "", "cwd": "/home/dev/shop",
         "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": DESTROY,
         "tool_use_id": "t"}  # fmt: skip


def run_as_claude_code(command: str, event: dict[str, Any]) -> dict[str, Any]:
    """A command hook as Claude Code runs it: a shell, the event on stdin, a timeout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WATCHKEEPER_") or k == "WATCHKEEPER_WARM"
    }
    done = subprocess.run(["sh", "-c", command], input=json.dumps(event).encode(), env=env,
                          capture_output=True, timeout=30, check=True)  # fmt: skip
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(OTHER), encoding="utf-8")
    return settings


def test_install_twice_then_uninstall_leaves_the_settings_as_they_were(project: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["install", "claude-code", "--environment", "prod"])
    assert first.exit_code == 0, first.output
    installed = json.loads(project.read_text(encoding="utf-8"))
    assert installed["model"] == "opus"
    assert installed["hooks"]["PreToolUse"][0] == OTHER["hooks"]["PreToolUse"][0]
    assert json.loads(project.with_name("settings.json.bak").read_text(encoding="utf-8")) == OTHER
    again = runner.invoke(app, ["install", "claude-code", "--environment", "prod"])
    assert "nothing changed" in again.output
    assert json.loads(project.read_text(encoding="utf-8")) == installed
    hook = installed["hooks"]["PreToolUse"][1]["hooks"][0]
    assert hook["timeout"] == 30
    # The installed line, exactly as written, decides: production from where it is installed.
    answer = run_as_claude_code(hook["command"], EVENT)
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "2 of the approvers" in answer["hookSpecificOutput"]["permissionDecisionReason"]
    gone = runner.invoke(app, ["install", "claude-code", "--uninstall"])
    assert gone.exit_code == 0, gone.output
    assert json.loads(project.read_text(encoding="utf-8")) == OTHER


def test_a_hook_that_cannot_start_still_answers_deny() -> None:
    commands = hook_commands("/nonexistent/watchkeeper", [], budget=25)
    answer = run_as_claude_code(commands["PreToolUse"], EVENT)
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "could not start" in answer["hookSpecificOutput"]["permissionDecisionReason"]


def test_settings_that_are_not_json_are_left_alone(project: Path) -> None:
    project.write_text("{not json", encoding="utf-8")
    done = CliRunner().invoke(app, ["install", "claude-code"])
    assert done.exit_code == 2
    assert "cannot read it as JSON" in done.output
    assert project.read_text(encoding="utf-8") == "{not json"


def test_merging_is_idempotent_and_removal_exact() -> None:
    commands = hook_commands("wk", ["--server", "http://x"], budget=25)
    once = merged(OTHER, commands, 30)
    assert merged(once, commands, 30) == once
    assert removed(once) == OTHER
    assert removed({"hooks": {}}) == {}
    with pytest.raises(ValueError, match="not a list"):
        merged({"hooks": {"PreToolUse": {}}}, commands, 30)


def test_only_what_install_put_in_is_taken_out(project: Path) -> None:
    mine = {"type": "command", "command": "my-linter hook claude-code-lint"}
    settings = {"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [mine]}]}}
    project.write_text(json.dumps(settings), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["install", "claude-code"]).exit_code == 0
    installed = json.loads(project.read_text(encoding="utf-8"))
    # Someone adds their own command beside watchkeeper's in the same entry.
    installed["hooks"]["PreToolUse"][1]["hooks"].append({"type": "command", "command": "audit"})
    project.write_text(json.dumps(installed), encoding="utf-8")
    assert runner.invoke(app, ["install", "claude-code", "--uninstall"]).exit_code == 0
    left = json.loads(project.read_text(encoding="utf-8"))["hooks"]["PreToolUse"]
    audit = {"type": "command", "command": "audit"}
    assert left == [{"matcher": "*", "hooks": [mine]}, {"matcher": "*", "hooks": [audit]}]


def test_a_linked_private_settings_file_stays_linked_and_private(
    project: Path, tmp_path: Path
) -> None:
    real = tmp_path / "dotfiles" / "settings.json"
    real.parent.mkdir()
    real.write_text(json.dumps(OTHER), encoding="utf-8")
    real.chmod(0o600)
    project.unlink()
    project.symlink_to(real)
    assert CliRunner().invoke(app, ["install", "claude-code"]).exit_code == 0
    assert project.is_symlink()
    assert "hook claude-code" in real.read_text(encoding="utf-8")
    assert real.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("text", ['{"x": 1e999}', '{"a": 1, "a": 2}', "[]"])
def test_settings_claude_code_could_not_read_back_are_left_alone(project: Path, text: str) -> None:
    project.write_text(text, encoding="utf-8")
    done = CliRunner().invoke(app, ["install", "claude-code"])
    assert done.exit_code == 2
    assert project.read_text(encoding="utf-8") == text


def test_orders_the_agent_could_edit_are_refused(project: Path, tmp_path: Path) -> None:
    loose = tmp_path / "policy.yaml"
    loose.write_text("rules: []\n", encoding="utf-8")
    done = CliRunner().invoke(app, ["install", "claude-code", "--orders", str(loose)])
    assert done.exit_code == 2
    assert "watchkeeper.yaml" in done.output
    guarded = tmp_path / "watchkeeper.yaml"
    guarded.write_text("rules: []\n", encoding="utf-8")
    assert (
        CliRunner().invoke(app, ["install", "claude-code", "--orders", str(guarded)]).exit_code == 0
    )
