"""The MCP gateway and the framework guards: what each adds to an allowed tool call.

An MCP client (the SDK's own ``Client``, in the 2026-07-28 revision) calls a cheap tool
(``echo``, on a server built with the SDK) one call at a time: straight to the server, and
through ``watchkeeper mcp-proxy`` deciding in process and on a ``watchkeeper serve`` over
SQLite. The gateway's own cost is what it adds beyond the decision (the decision measured alone
in the same run). ``mcp-airlock`` (PyPI), a proxy for the same protocol revision over HTTP, is
measured the same way in front of the same server over streamable HTTP: each proxy against the
direct path of its own transport. The framework guards are timed per call around the same tool
function, with and without the guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from bench.harness import table
from bench.server import _port, _server

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tests" / "doors" / "mcp" / "tools_server.py"
EXE = str(Path(sys.executable).with_name("watchkeeper"))
CALLS = int(os.environ.get("BENCH_MCP_CALLS", "400"))
WARMUP = 40
MODE = "2026-07-28"

ORDERS = """
environments: {dev: {default: ask}}
tools:
  echo: {verb: read, target: message}
  refund: {verb: transfer, target: money}
rules:
  - name: echoes-are-free
    match: {tool: echo}
    decision: allow
  - name: small-refunds-are-free
    match: {tool: refund}
    when: "action.input.amount <= 100"
    decision: allow
"""

AIRLOCK_POLICY = """
version: 1
environment: dev
tools:
  echo:
    tiers: {dev: L0}
"""


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 of ``samples`` (seconds), in microseconds."""
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1e6, ordered[int(len(ordered) * 0.99)] * 1e6


async def _timed(call: Callable[[], Any]) -> list[float]:
    for _ in range(WARMUP):
        await call()
    samples = []
    for _ in range(CALLS):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


async def _client_calls(transport: Any) -> list[float]:
    from mcp import Client

    async with Client(transport, mode=MODE) as client:

        async def once() -> None:
            result = await client.call_tool("echo", {"text": "hello"})
            assert not result.is_error, result

        return await _timed(once)


def _stdio(command: list[str], env: dict[str, str]) -> Any:
    from mcp import StdioServerParameters

    return StdioServerParameters(command=command[0], args=command[1:], env=env)


@contextlib.asynccontextmanager
async def _http(url: str, headers: dict[str, str]) -> AsyncIterator[Any]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


async def _http_calls(url: str, headers: dict[str, str]) -> list[float]:
    from mcp import Client

    # The Client takes a transport: a context manager of the two message streams.
    async with Client(_http(url, headers), mode=MODE) as client:  # type: ignore[arg-type]

        async def once() -> None:
            result = await client.call_tool("echo", {"text": "hello"})
            assert not result.is_error, result

        return await _timed(once)


@contextlib.contextmanager
def _process(argv: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[str]:
    """A server process listening on ``port``; its URL once it accepts connections."""
    import socket

    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, env=env, stdout=sink, stderr=sink)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(log.read_text(errors="replace")[-2000:]) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _decisions(decide: Callable[[], object]) -> list[float]:
    for _ in range(WARMUP):
        decide()
    samples = []
    for _ in range(CALLS):
        start = time.perf_counter()
        decide()
        samples.append(time.perf_counter() - start)
    return samples


def _row(label: str, samples: list[float], base: list[float] | None = None,
         decision: list[float] | None = None) -> list[str]:  # fmt: skip
    p50, p99 = percentiles(samples)
    added = "-"
    if base is not None:
        over = p50 - percentiles(base)[0]
        added = f"{over / 1000:,.2f}"
        if decision is not None:
            added += f" ({(over - percentiles(decision)[0]) / 1000:,.2f} beyond the service)"
    return [label, f"{p50 / 1000:,.2f} / {p99 / 1000:,.2f}", added]


def _gateway_rows(work: Path) -> tuple[list[list[str]], list[str]]:
    from watchkeeper.adapters.tool_gate import ToolGate
    from watchkeeper.store.database import Store
    from watchkeeper.store.identities import Identities

    orders = work / "watchkeeper.yaml"
    orders.write_text(ORDERS, encoding="utf-8")
    env = {**os.environ, "RECORD": str(work / "calls.jsonl"), "WATCHKEEPER_ENVIRONMENT": "dev",
           "WATCHKEEPER_WARM": "0"}  # fmt: skip
    server = [sys.executable, str(TOOLS), "stdio"]
    proxied = [EXE, "mcp-proxy", "--orders", str(orders), "--server-name", "tools", "--", *server]
    rows: list[list[str]] = []
    notes: list[str] = []
    direct = asyncio.run(_client_calls(_stdio(server, env)))
    rows.append(_row("stdio, straight to the server", direct))
    local = ToolGate(door="mcp", orders=orders, environment="dev")
    action = local.action("echo", {"text": "hello", "server": "tools"})
    decided = _decisions(lambda: local.decide(action))
    rows.append(_row("the decision alone, in process", decided))
    through = asyncio.run(_client_calls(_stdio(proxied, env)))
    rows.append(_row("stdio, through the gateway (in process)", through, direct, decided))
    url = f"sqlite:///{work / 'wk.db'}"
    store = Store.open(url)  # an empty database is migrated on opening
    key = Identities(store).add_agent("bench-agent")
    store.close()
    with _server(url, work, orders=str(orders)) as base:
        remote = ToolGate(door="mcp", server=base, environment="dev", session="bench")
        os.environ["WATCHKEEPER_TOKEN"] = key
        try:
            served = _decisions(lambda: remote.decide(action))

            def decided_and_ran() -> None:
                remote.outcome(remote.decide(action), "succeeded")

            recorded = _decisions(decided_and_ran)
        finally:
            os.environ.pop("WATCHKEEPER_TOKEN", None)
        rows.append(_row("the decision alone, on the server (HTTP, SQLite)", served))
        rows.append(_row("the decision and its outcome, on the server", recorded))
        on_server = [EXE, "mcp-proxy", "--server", base, "--server-name", "tools", "--", *server]
        env_server = {**env, "WATCHKEEPER_TOKEN": key}
        remote_calls = asyncio.run(_client_calls(_stdio(on_server, env_server)))
        rows.append(_row("stdio, through the gateway (on the server)", remote_calls, direct,
                         recorded))  # fmt: skip

    def beyond(through: list[float], service: list[float]) -> float:
        return percentiles(through)[0] - percentiles(direct)[0] - percentiles(service)[0]

    for where, cost in (("in process", beyond(through, decided)),
                        ("on the server", beyond(remote_calls, recorded))):  # fmt: skip
        met = "met" if cost <= 2000 else "MISSED"
        notes.append(f"- {where}: the gateway adds ≤ 2 ms p50 to an allowed call beyond the "
                     f"service's own work: **{met}** ({cost / 1000:.2f} ms)")  # fmt: skip
    return rows, notes


def _airlock_rows(work: Path) -> list[list[str]]:
    try:
        import mcp_airlock  # noqa: F401
    except ImportError:
        return [["mcp-airlock", "not installed (pip install mcp-airlock)", "-"]]
    env = {**os.environ, "RECORD": str(work / "calls.jsonl")}
    port = _port()
    with _process([sys.executable, str(TOOLS), "http", str(port), "stateless"], port, env,
                  work / "tools.log") as upstream:  # fmt: skip
        direct = asyncio.run(_http_calls(upstream, {}))
        policy = work / "airlock.yaml"
        policy.write_text(AIRLOCK_POLICY, encoding="utf-8")
        aport = _port()
        argv = [sys.executable, "-m", "mcp_airlock", "--policy", str(policy), "--upstream",
                upstream, "--port", str(aport), "--audit", str(work / "airlock.jsonl")]  # fmt: skip
        airlock_env = {**env, "AIRLOCK_TRUST_PRINCIPAL_HEADER": "1"}
        with _process(argv, aport, airlock_env, work / "airlock.log") as front:
            through = asyncio.run(_http_calls(front, {"x-airlock-principal": "bench"}))
    return [
        _row("streamable HTTP, straight to the server", direct),
        _row("streamable HTTP, through mcp-airlock", through, direct),
    ]


def _framework_rows(work: Path) -> list[list[str]]:
    from langchain_core.tools import tool

    from watchkeeper.adapters.langchain import guard_tool
    from watchkeeper.adapters.openai_agents import AgentsGuard
    from watchkeeper.adapters.tool_gate import ToolGate

    orders = work / "watchkeeper.yaml"
    gate = ToolGate(door="bench", orders=orders, environment="dev")

    @tool
    def refund(order: str, amount: int) -> str:
        """Refund part of an order."""
        return f"refunded {amount} on {order}"

    guarded = guard_tool(refund, gate)
    arguments = {"order": "A-1", "amount": 40}
    bare = _decisions(lambda: refund.invoke(arguments))
    langchain = _decisions(lambda: guarded.invoke(arguments))
    agents = _agents_samples(AgentsGuard(ToolGate(door="bench", orders=orders, environment="dev")))
    return [
        _row("LangChain tool, unguarded", bare),
        _row("LangChain tool, guarded", langchain, bare),
        _row("OpenAI Agents run of one tool call, unguarded", agents[0]),
        _row("OpenAI Agents run of one tool call, guarded", agents[1], agents[0]),
    ]


def _agents_samples(guard: Any) -> tuple[list[float], list[float]]:
    from agents import Agent, Runner, function_tool, set_tracing_disabled
    from agents.testing.model import ScriptedModel, assistant_message, function_call

    set_tracing_disabled(True)

    def refund(order: str, amount: int) -> str:
        """Refund part of an order."""
        return f"refunded {amount} on {order}"

    def run(made: Any) -> Callable[[], None]:
        def once() -> None:
            steps: list[Any] = [
                [function_call("refund", {"order": "A-1", "amount": 40}, call_id="c1")],
                [assistant_message("done")],
            ]
            agent = Agent(name="bench", model=ScriptedModel(steps), tools=[made])  # fmt: skip
            asyncio.run(Runner.run(agent, "refund"))

        return once

    bare = _decisions(run(function_tool(refund)))
    guarded = _decisions(run(guard.tool(refund)))
    return bare, guarded


def section() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gateway, notes = _gateway_rows(work)
        airlock = _airlock_rows(work)
        frameworks = _framework_rows(work)
    head = ["path", "p50 / p99 ms", "added p50 ms"]
    return f"""## The MCP gateway and the framework guards (`bench/mcp.py`)

One allowed call at a time ({CALLS} after {WARMUP} to warm up), from the SDK's own client in the
{MODE} revision, to a tool that answers its argument. "Added" is the difference of medians
against the direct path of the same transport; "beyond the service" also takes away the
service's own work measured alone in this run (in process the decision; on the server the
decision and the outcome the gateway reports for every call that ran, each recorded with
`synchronous=FULL`), the cost every door pays alike.

{table(gateway, head)}

Beside a peer: `mcp-airlock` is an HTTP proxy for the same revision; it and the direct path are
measured over streamable HTTP against the same server.

{table(airlock, head)}

The framework guards, per call of the same function: LangChain's `tool.invoke` with and without
`guard_tool`; a whole OpenAI Agents run of one call (scripted model) with and without the
guardrail and approval hook.

{table(frameworks, head)}

Targets:
{chr(10).join(notes)}
"""


if __name__ == "__main__":
    print(section())
