"""Putting the hook into Claude Code's settings, and taking it out again.

:func:`merged` adds watchkeeper's ``PreToolUse`` and ``PostToolUse`` hooks to a settings
object and keeps everything else; :func:`removed` takes out exactly what :func:`merged` added.
Both are idempotent: installing twice leaves one copy, with the newest options::

    commands = hook_commands("/usr/bin/watchkeeper", ["--environment", "prod"], budget=25)
    settings = merged({"model": "opus"}, commands, timeout=30)
    removed(settings) == {"model": "opus"}
"""

from __future__ import annotations

import copy
import json
import shlex
from typing import Any

#: Every command watchkeeper installs carries this, so that it can be found again.
MARK = "hook claude-code"
EVENTS = ("PreToolUse", "PostToolUse")
#: The answer when the hook cannot even start (watchkeeper missing where Claude Code runs).
CANNOT_START = json.dumps(
    {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "the watchkeeper hook could not start where Claude Code "
            "runs, so the call is refused; ask the user to check the installation",
        }
    },
    separators=(",", ":"),
)


def hook_commands(executable: str, options: list[str], budget: float) -> dict[str, str]:
    """The hook's command line for each event; before a tool runs, a ``deny`` follows for
    when the hook could not run at all (after it, there is nothing left to refuse)."""
    line = " ".join(shlex.quote(a) for a in [executable, *MARK.split(), *options])
    line += f" --budget {budget:g}"
    return {"PreToolUse": f"{line} || echo {shlex.quote(CANNOT_START)}", "PostToolUse": line}


def _ours(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    hooks = entry.get("hooks")
    return isinstance(hooks, list) and any(
        isinstance(h, dict) and MARK in str(h.get("command", "")) for h in hooks
    )


def removed(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` without watchkeeper's hooks (empty lists and objects it leaves go too)."""
    out = copy.deepcopy(settings)
    hooks = out.get("hooks")
    if not isinstance(hooks, dict):
        return out
    for event in EVENTS:
        entries = hooks.get(event)
        if isinstance(entries, list):
            kept = [e for e in entries if not _ours(e)]
            if kept:
                hooks[event] = kept
            else:
                del hooks[event]
    if not hooks:
        del out["hooks"]
    return out


def merged(settings: dict[str, Any], commands: dict[str, str], timeout: int) -> dict[str, Any]:
    """``settings`` with watchkeeper's hooks on every tool, before and after it runs."""
    out = removed(settings)
    hooks = out.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise ValueError(f"the settings' 'hooks' is not an object: {hooks!r}")
    for event in EVENTS:
        entries = hooks.setdefault(event, [])
        if not isinstance(entries, list):
            raise ValueError(f"the settings' hooks.{event} is not a list: {entries!r}")
        entries.append(
            {
                "matcher": "*",
                "hooks": [{"type": "command", "command": commands[event], "timeout": timeout}],
            }
        )
    return out
