"""An MCP server built with the SDK, for the gateway's tests: ``python tools_server.py stdio`` or
``python tools_server.py http PORT [stateless]``. Every call is written to the file named by
``RECORD`` (one JSON line each) before it is answered, so a test can tell what reached it."""

from __future__ import annotations

import json
import os
import sys

from mcp.server import MCPServer
from mcp_types import ToolAnnotations

server = MCPServer("watchkeeper-test-tools")


def _record(tool: str, **arguments: object) -> None:
    with open(os.environ["RECORD"], "a", encoding="utf-8") as f:
        f.write(json.dumps({"tool": tool, **arguments}) + "\n")


@server.tool()
def shell(command: str, cwd: str = "") -> str:
    """Pretend to run a shell command (it is only recorded)."""
    _record("shell", command=command, cwd=cwd)
    return f"ran: {command}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False))
def echo(text: str) -> str:
    """Answer the text (not recorded: the benchmarks' call)."""
    return text


@server.tool(annotations=ToolAnnotations(destructive_hint=True, read_only_hint=False))
def wipe(path: str) -> str:
    """Pretend to delete everything under path."""
    _record("wipe", path=path)
    return f"wiped {path}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False))
def peek(path: str) -> str:
    """Pretend to read a file; the server calls it read-only."""
    _record("peek", path=path)
    return f"contents of {path}"


@server.tool()
def deploy(service: str, dry_run: bool = False) -> str:
    """Restart a service's pods; with dry_run, only say what would happen."""
    _record("deploy", service=service, dry_run=dry_run)
    return f"would restart 3 pods of {service}" if dry_run else f"restarted 3 pods of {service}"


@server.tool()
def purge(path: str, recursive: bool = True, force: bool = False) -> str:
    """Delete a path (pretend); recursive unless told otherwise."""
    _record("purge", path=path, recursive=recursive, force=force)
    return f"purged {path} recursive={recursive} force={force}"


@server.tool(annotations=ToolAnnotations(read_only_hint=False))
def touch(path: str) -> str:
    """Annotated, but saying neither read-only nor destructive: destructive by the spec."""
    _record("touch", path=path)
    return f"touched {path}"


@server.tool()
def fail(reason: str) -> str:
    """A tool that fails."""
    _record("fail", reason=reason)
    raise ValueError(reason)


@server.tool()
def settings() -> str:
    """The names of the watchkeeper settings this server was started with (none, rightly)."""
    return json.dumps(sorted(k for k in os.environ if k.startswith("WATCHKEEPER_")))


@server.tool()
def die() -> str:
    """The server process exits in the middle of the call."""
    _record("die")
    os._exit(3)


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        import uvicorn

        stateless = sys.argv[3:] == ["stateless"]
        app = server.streamable_http_app(stateless_http=stateless, json_response=stateless)
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
