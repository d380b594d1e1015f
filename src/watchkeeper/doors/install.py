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

#: The hook's subcommand, and the comment that ends every command line watchkeeper installs:
#: what install and --uninstall touch, and nothing else.
MARK = "hook claude-code"
OURS = "# installed by watchkeeper"
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
    return {"PreToolUse": f"{line} || echo {shlex.quote(CANNOT_START)} {OURS}",
            "PostToolUse": f"{line} {OURS}"}  # fmt: skip


def _ours(hook: object) -> bool:
    return isinstance(hook, dict) and str(hook.get("command", "")).endswith(OURS)


def removed(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` without watchkeeper's hooks: only the commands it installed go (an entry
    left with no hook goes too, and an event left with no entry); everything else stays."""
    out = copy.deepcopy(settings)
    hooks = out.get("hooks")
    if not isinstance(hooks, dict):
        return out
    for event in EVENTS:
        entries = hooks.get(event)
        if not isinstance(entries, list):
            continue
        kept = []
        for entry in entries:
            inner = entry.get("hooks") if isinstance(entry, dict) else None
            if isinstance(inner, list) and any(_ours(h) for h in inner):
                entry = {**entry, "hooks": [h for h in inner if not _ours(h)]}
                if not entry["hooks"]:
                    continue
            kept.append(entry)
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
