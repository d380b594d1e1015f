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
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
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
