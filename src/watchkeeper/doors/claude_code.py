"""Claude Code's hook protocol: a tool call in, watchkeeper's answer out.

Claude Code runs a command hook with one JSON event on stdin (``PreToolUse``,
``PostToolUse``: ``session_id``, ``cwd``, ``transcript_path``, ``tool_name``, ``tool_input``,
``tool_use_id``…) and reads one JSON answer on stdout. This module only translates, with the
standard library: :func:`action_of` makes the watchkeeper action of a tool call, and
:func:`answer` the hook's answer to a decision::

    action_of({"tool_name": "Bash", "tool_input": {"command": "pytest"}, "cwd": "/repo", …})
    # {"tool": "shell", "input": {"command": "pytest", "cwd": "/repo"}, "session": …, …}
    answer("deny", "Held: this deletes the production database.")
    # {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny", …}}
"""

from __future__ import annotations

import json
import os
import stat

TYPE_CHECKING = False  # not typing's: the hook starts as fast as Python does
if TYPE_CHECKING:
    from typing import Any

#: Claude Code's file tools, by the watchkeeper tool that reads them and the field holding
#: the path.
FILE_TOOLS = {
    "Write": ("file_write", "file_path"),
    "Edit": ("file_edit", "file_path"),
    "MultiEdit": ("file_edit", "file_path"),
    "NotebookEdit": ("file_edit", "notebook_path"),
    "Read": ("file_read", "file_path"),
    "Grep": ("file_search", "path"),
    "Glob": ("file_search", "path"),
    "LS": ("file_search", "path"),
}
#: Tools that act on nothing outside the conversation: a to-do list, a plan, a question to
#: the user, the output of a shell this agent started. (``Task`` starts a sub-agent whose own
#: tool calls come through this hook.)
CONVERSATION_TOOLS = frozenset(
    """
    TodoWrite TodoRead ExitPlanMode EnterPlanMode AskUserQuestion BashOutput TaskOutput
    KillShell KillBash Task Agent Skill SlashCommand
    """.split()
)
#: How much of the transcript is read to find the latest request of the user.
TRANSCRIPT_TAIL = 256 * 1024


class EventError(ValueError):
    """The event is not one this hook can read; the answer is ``deny``, naming the field."""


def _text(event: dict[str, Any], key: str) -> str:
    value = event.get(key)
    if not isinstance(value, str) or not value:
        raise EventError(f"the hook event has no {key!r} (a non-empty string), got {value!r}")
    return value


def action_of(event: dict[str, Any], environment: str | None = None) -> dict[str, Any]:
    """The watchkeeper action of a ``PreToolUse`` or ``PostToolUse`` event."""
    name = _text(event, "tool_name")
    given = event.get("tool_input")
    if not isinstance(given, dict):
        raise EventError(f"the hook event's 'tool_input' is not an object: {given!r}")
    cwd = event.get("cwd") if isinstance(event.get("cwd"), str) else None
    where = {"cwd": cwd} if cwd else {}
    if name == "Bash":
        tool, data = "shell", {**given, **where}
    elif name in FILE_TOOLS:
        tool, field = FILE_TOOLS[name]
        path = given.get(field)
        data = (
            {"path": path, **where, "tool_input": given} if path else {**where, "tool_input": given}
        )
        real = _resolved(path, cwd)
        if real is not None:  # a symbolic link on the way: where the call really lands
            data["resolved"] = real
        if name in ("Grep", "Glob") and isinstance(
            given.get("glob" if name == "Grep" else "pattern"), str
        ):
            data["names"] = given["glob" if name == "Grep" else "pattern"]  # which files, by name
        if tool == "file_write" and isinstance(given.get("content"), str):
            data["tool_input"] = {**given, "content": _content(given["content"])}
    elif name == "WebFetch":
        tool, data = "web_fetch", {"url": given.get("url"), "prompt": given.get("prompt")}
    elif name == "WebSearch":
        tool, data = "web_search", {"query": given.get("query")}
    elif name.startswith("mcp__") and name.count("__") >= 2:
        _, server, plain = name.split("__", 2)  # mcp__git__git_reset: the tool git_reset
        tool, data = plain, mcp_input(given, server)
    elif name in CONVERSATION_TOOLS:
        tool, data = "agent_internal", {"name": name}
    else:  # a tool nobody describes: the orders' `unknown` applies
        tool, data = name, dict(given)
    action: dict[str, Any] = {"tool": tool, "input": data}
    session = event.get("session_id")
    if isinstance(session, str) and session:
        action["session"] = session
    goal = latest_request(event.get("transcript_path"))
    if goal:
        action["intent"] = {"goal": goal}
    if environment:
        action["environment"] = environment
    return action


def mcp_input(arguments: dict[str, Any], server: str) -> dict[str, Any]:
    """The action input of an MCP tool call: its arguments, with the server it goes to as
    ``server``; an argument of the tool's own called ``server`` is kept as ``server_argument``
    (the orders see both; the tool is sent its own)."""
    data = {**arguments, "server": server}
    if "server" in arguments:
        data["server_argument"] = arguments["server"]
    return data


def _no_blocking(path: str, flags: int) -> int:
    # Opening a FIFO for reading waits for a writer; without blocking it does not.
    return os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))


def _resolved(path: object, cwd: str | None) -> str | None:
    """Where ``path`` really is, when a symbolic link on the way makes it another path."""
    if not isinstance(path, str) or not path or "\x00" in path:
        return None
    full = os.path.expanduser(path)
    if not os.path.isabs(full):
        if cwd is None:
            return None
        full = os.path.join(cwd, full)
    real = os.path.realpath(full)
    return real if real != os.path.normpath(full) else None


#: Content a write carries whole into the action (and before approvers); above it, its start.
CONTENT_SHOWN = 16 * 1024


def _content(text: str) -> str | dict[str, Any]:
    """What the action holds of a file's new content: all of it when it is small; else its
    start, its size and its SHA-256, so that an approval covers these bytes and no others."""
    if len(text) <= CONTENT_SHOWN:
        return text
    import hashlib

    return {
        "start": text[:CONTENT_SHOWN],
        "characters": len(text),
        "sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
    }


def latest_request(path: object) -> str | None:
    """The user's latest request in a Claude Code transcript (JSON lines), or ``None``.

    Reads at most :data:`TRANSCRIPT_TAIL` bytes from the end; a missing, unreadable or strange
    transcript only means no goal is shown, never an error."""
    if not isinstance(path, str) or not path:
        return None
    try:
        # Only a regular file: /dev/zero never ends, a FIFO or a terminal never answers.
        with open(path, "rb", opener=_no_blocking) as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - TRANSCRIPT_TAIL))
            lines = f.read(TRANSCRIPT_TAIL).decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("message") if isinstance(entry, dict) else None
        if not isinstance(message, dict) or entry.get("type") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str) and content.strip():
            return content.strip()[:2000]
        if isinstance(content, list):  # text blocks; tool results are not requests
            texts = [
                b.get("text") for b in content if isinstance(b, dict) and b.get("type") == "text"
            ]
            joined = "\n".join(t for t in texts if isinstance(t, str)).strip()
            if joined:
                return joined[:2000]
    return None


def answer(decision: str, reason: str, event: str = "PreToolUse") -> dict[str, Any]:
    """The hook's answer: ``allow``, ``ask`` or ``deny`` with a reason written for the model."""
    if event != "PreToolUse":  # PostToolUse: nothing to permit any more; say it to the model
        return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": reason}}
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    }


def deny(reason: str) -> str:
    """The encoded ``deny`` answer: what every failure inside the hook becomes."""
    from watchkeeper.doors.gate import unable

    return json.dumps(answer("deny", unable(reason)))
