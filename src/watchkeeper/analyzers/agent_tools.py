"""The tools coding agents carry besides a shell: writing, editing, reading and searching files,
fetching a page, and tools that act on nothing outside the conversation.

Doors translate their agent's tool calls into these names (the Claude Code hook turns
``Write`` into ``file_write``, ``WebFetch`` into ``web_fetch``), so one analyzer reads them
whichever agent sent them::

    {"tool": "file_write", "input": {"path": "src/app.py", "cwd": "/home/me/repo"}}
        -> overwrite file src/app.py (located in the working tree by the gateway)
    {"tool": "file_read", "input": {"path": "~/.aws/credentials"}}
        -> read file, flagged credential_access
    {"tool": "web_fetch", "input": {"url": "https://example.com/"}}
        -> what `curl -s URL` does: a read of the host, egress; a secret in the URL is sent

A path the agent cannot name (missing, not text) is ``unknown``: it could be anywhere.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from watchkeeper.analyzers.effects import Verb, builder
from watchkeeper.analyzers.paths import path_flags
from watchkeeper.models import Action, Effect

#: Tool names this analyzer reads.
AGENT_TOOLS = (
    "file_write", "file_edit", "file_read", "file_search", "web_fetch", "web_search",
    "agent_internal",
)  # fmt: skip

effect = builder("agent_tools")


def _path(action: Action, key: str = "path") -> str | None:
    value = action.input.get(key)
    return value if isinstance(value, str) and value and "\x00" not in value else None


def _also(action: Action) -> list[str]:
    """Where the call really lands, when a door resolved a symbolic link on the way."""
    resolved = _path(action, "resolved")
    return [resolved] if resolved else []


def _unnamed(action: Action) -> list[Effect]:
    return [effect("unknown", "file", None, why=f"{action.tool} without a path")]


class AgentToolsAnalyzer:
    """Effects of an agent's file, web and conversation tools (see the module's docstring)."""

    name = "agent_tools"

    def analyze(self, action: Action) -> Sequence[Effect]:
        """One effect for the call; the gateway places its path (working tree, home, system)."""
        tool = action.tool
        cwd = action.input.get("cwd")
        base = cwd if isinstance(cwd, str) else None
        if tool == "agent_internal":  # a to-do list, a question to the user, a plan
            return [effect("read", "process", None, reversible="yes")]
        if tool in ("web_fetch", "web_search"):
            return self._web(action)
        path = _path(action) if tool != "file_search" else (_path(action) or base or ".")
        if path is None:
            return _unnamed(action)
        # The path as given and, when a door resolved a symbolic link on the way, where it lands.
        flags = sorted({f for p in [path, *_also(action)] for f in path_flags(p, base)})
        if tool == "file_read":
            readable = [f for f in flags if f == "credential_access"]
            return [effect("read", "file", path, reversible="yes", flags=readable)]
        if tool == "file_search":  # Grep, Glob: names and lines under a directory
            names = action.input.get("names")
            wanted = [path, *_also(action)]
            if isinstance(names, str) and names:  # --include=.env: those files, below it
                wanted += [f"{p.rstrip('/')}/**/{names}" for p in list(wanted)]
            found = {f for p in wanted for f in path_flags(p, base, tree=True)}
            readable = [f for f in found if f == "credential_access"]
            return [effect("read", "directory", path, reversible="yes", flags=readable)]
        # A write replaces what was there (nothing keeps the old text); an edit changes it.
        verb: Verb = "overwrite" if tool == "file_write" else "update"
        return [effect(verb, "file", path, reversible="no", flags=flags,
                       recovery="the version control history")]  # fmt: skip

    def _web(self, action: Action) -> list[Effect]:
        if action.tool == "web_search":  # the query goes to a search engine
            query = action.input.get("query")
            if not isinstance(query, str):
                return _unnamed(action)
            return [effect("read", "message", "web search", reversible="yes", flags=["egress"])]
        url = action.input.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return [effect("unknown", "message", None, flags=["egress"], why="no http(s) URL")]
        # A fetch is what `curl -s URL` is: the shell analyzer's reading of hosts, placed
        # targets and secrets carried in a URL applies as it is.
        from watchkeeper.analyzers.shell import analyze

        return list(analyze(f"curl -s -- {shlex.quote(url)}", "url"))
