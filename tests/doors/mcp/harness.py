"""Running the MCP gateway as its users do: ``watchkeeper mcp-proxy … -- SERVER``, spoken to by
the SDK's own client over stdio (or, for what no client would send, line by line)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

HERE = Path(__file__).parent
EXE = str(Path(sys.executable).with_name("watchkeeper"))
PYTHON = sys.executable
TOOLS = [PYTHON, str(HERE / "tools_server.py"), "stdio"]
RAW = [PYTHON, str(HERE / "raw_server.py")]
GIT = str(Path(sys.executable).with_name("mcp-server-git"))
TIME = str(Path(sys.executable).with_name("mcp-server-time"))


def environment(**more: str) -> dict[str, str]:
    """This process's environment without watchkeeper's settings, and ``more``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    return {**base, "WATCHKEEPER_WARM": "0", **more}


@contextlib.asynccontextmanager
async def gateway(
    options: list[str], target: list[str], env: dict[str, str], mode: str = "legacy",
    cwd: Path | None = None, **client: Any,
) -> AsyncIterator[Client]:  # fmt: skip
    """An SDK client connected to the gateway in front of ``target``, started in ``cwd``."""
    params = StdioServerParameters(command=EXE, args=["mcp-proxy", *options, "--", *target],
                                   env=env, cwd=cwd)  # fmt: skip
    async with Client(params, mode=mode, **client) as connected:  # type: ignore[arg-type]
        yield connected


def recorded(path: Path) -> list[dict[str, Any]]:
    """The calls the test server was sent."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def text_of(result: Any) -> str:
    """The text of a tool result."""
    return "".join(getattr(block, "text", "") for block in result.content)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextlib.contextmanager
def http_server(record: Path, stateless: bool) -> Iterator[str]:
    """The SDK-built test server over streamable HTTP; its URL."""
    port = free_port()
    argv = [*TOOLS[:2], "http", str(port), *(["stateless"] if stateless else [])]
    process = subprocess.Popen(argv, env={**os.environ, "RECORD": str(record)})
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:  # listening is enough: a GET may open an event stream that never ends
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the test MCP server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


class Lines:
    """The gateway spoken to line by line, as no SDK client would."""

    def __init__(self, options: list[str], target: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [EXE, "mcp-proxy", *options, "--", *target], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def request(self, request_id: object, method: str, params: dict[str, Any]) -> None:
        self.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method,
                              "params": params}))  # fmt: skip

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, self.stderr()
        found: dict[str, Any] = json.loads(line)
        return found

    def start(self) -> None:
        hello = {"name": "lines", "version": "1"}
        self.request(
            0,
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": hello},
        )
        assert self.read()["id"] == 0
        self.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))

    def stderr(self) -> str:
        """What the gateway wrote to stderr, once it has stopped."""
        return self.close()

    def close(self) -> str:
        """Close its stdin, as a client that leaves does; it must stop within ten seconds."""
        try:
            _, errors = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise AssertionError("the gateway did not stop when its client left") from None
        return errors or ""


def hook_answer(tool: str, given: dict[str, Any], env: dict[str, str]) -> tuple[str, str]:
    """Claude Code's hook on the same call (``mcp__SERVER__TOOL``): its decision and reason."""
    sent = {"session_id": "mcp-conformance", "transcript_path": "", "cwd": "/tmp",
            "hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": given,
            "tool_use_id": "toolu_1"}  # fmt: skip
    done = subprocess.run([EXE, "hook", "claude-code"], input=json.dumps(sent), text=True,
                          capture_output=True, env=env, timeout=60, check=True)  # fmt: skip
    out = json.loads(done.stdout)["hookSpecificOutput"]
    return out["permissionDecision"], out["permissionDecisionReason"]
