"""What the wrapped MCP server declares of its tools, as the gateway learned it, for decisions
that may only get stricter for it.

    catalog = Catalog()
    catalog.learn(page["tools"])            # every tools/list page that passes
    catalog.hints("git_reset")              # {'destructiveHint': True, …}
    catalog.forget()                        # notifications/tools/list_changed

A tool once declared destructive stays destructive for the session, whatever the server lists
later; a tool the server annotated without saying it is read-only or not destructive is
destructive (the specification's defaults); a tool the server has not listed (or could not be
asked about) is treated as one it declared destructive. Listing is done once at a time: calls
that arrive meanwhile wait for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from watchkeeper.doors.mcp_wire import Tool

#: The most ``tools/list`` pages the gateway reads when it lists tools itself.
PAGES = 20

#: One page of ``tools/list``: its result, or ``None`` when the server did not answer it.
Lister = Callable[[str | None], Awaitable[dict[str, Any] | None]]


class Catalog:
    """The tools of one wrapped server, for one gateway's life."""

    def __init__(self) -> None:
        self.tools: dict[str, Tool] = {}
        self.complete = False  # every page of the server's own list was read
        self.destructive: set[str] = set()  # never forgotten
        self._lock = anyio.Lock()

    def learn(self, entries: object) -> None:
        """Learn the tools of one ``tools/list`` page."""
        if not isinstance(entries, list):
            return
        for entry in entries:
            tool = Tool.of(entry)
            if tool is None:
                continue
            self.tools[tool.name] = tool
            if tool.destructive:
                self.destructive.add(tool.name)

    def forget(self) -> None:
        """The server's list changed: read it again before the next call (what was declared
        destructive stays so)."""
        self.tools, self.complete = {}, False

    def get(self, name: str) -> Tool | None:
        return self.tools.get(name)

    def hints(self, name: str) -> dict[str, Any]:
        """The annotations the call of ``name`` is decided with (``unlisted``: the server did
        not list it)."""
        tool = self.tools.get(name)
        hints: dict[str, Any] = dict(tool.annotations) if tool is not None else {}
        if name in self.destructive:
            hints["destructiveHint"] = True
        if tool is None or tool.schema is None:  # no schema: nothing can be checked
            hints["unlisted"] = True
        return hints

    async def ensure(self, list_page: Lister) -> None:
        """Read the server's whole list unless it was read since it last changed. A list that
        could not be read is tried again at the next call; meanwhile every tool is unlisted."""
        async with self._lock:
            if self.complete:
                return
            cursor: str | None = None
            for _ in range(PAGES):
                page = await list_page(cursor)
                if page is None:
                    return
                self.learn(page.get("tools"))
                after = page.get("nextCursor")
                if not isinstance(after, str) or not after:
                    break
                cursor = after
            self.complete = True
