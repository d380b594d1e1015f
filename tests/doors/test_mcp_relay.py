"""The gateway's relay, spoken to from both sides at once over the SDK's own message streams:
what a hostile client or server sends that no well-behaved peer would (found by attacking the
gateway over its real interfaces), deciding with a real in-process gate."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.shared.message import SessionMessage
from mcp_types import jsonrpc_message_adapter

from watchkeeper.adapters.tool_gate import ToolGate
from watchkeeper.doors.mcp_consent import Consent
from watchkeeper.doors.mcp_proxy import Options, Proxy
from watchkeeper.doors.mcp_wire import ToolCall

ORDERS = """
environments:
  workstation: {unplaced: true, default: ask}
tools:
  echo: {verb: read, target: message}
  wipe: {verb: read, target: message}
rules:
  - name: reads-are-free
    match: {verb: read}
    when: "effects.all(e, e.verb == 'read')"
    decision: allow
"""

TEXT = {"type": "object", "properties": {"text": {"type": "string"}}}
PATH = {"type": "object", "properties": {"path": {"type": "string"}}}
TOOLS = [
    {"name": "echo", "inputSchema": TEXT},
    {"name": "wipe", "inputSchema": PATH,
     "annotations": {"destructiveHint": True, "readOnlyHint": False}},
]  # fmt: skip


class Peers:
    """The client's and the server's ends of a running gateway."""

    def __init__(self, client_in: Any, client_out: Any, server_in: Any, server_out: Any) -> None:
        self.client_in, self.client_out = client_in, client_out
        self.server_in, self.server_out = server_in, server_out
        self.sent_to_server: list[dict[str, Any]] = []

    async def client_sends(self, message: dict[str, Any]) -> None:
        await self.client_in.send(SessionMessage(jsonrpc_message_adapter.validate_python(message)))

    async def server_sends(self, message: dict[str, Any]) -> None:
        await self.server_in.send(SessionMessage(jsonrpc_message_adapter.validate_python(message)))

    async def client_gets(self) -> dict[str, Any]:
        with anyio.fail_after(10):
            item = await self.client_out.receive()
        return _plain(item.message)

    async def server_gets(self) -> dict[str, Any]:
        with anyio.fail_after(10):
            item = await self.server_out.receive()
        found = _plain(item.message)
        self.sent_to_server.append(found)
        return found

    async def nothing_for_server(self, seconds: float = 0.5) -> None:
        with anyio.move_on_after(seconds):
            item = await self.server_out.receive()
            raise AssertionError(f"the server was sent {_plain(item.message)}")


def _plain(message: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(message.model_dump_json(by_alias=True, exclude_none=True))
    return found


@asynccontextmanager
async def running(tmp_path: Path, elicits: bool = True) -> AsyncIterator[Peers]:
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(ORDERS, encoding="utf-8")
    gate = ToolGate(door="mcp", orders=path)
    proxy = Proxy(Options(server_name="tools", session="s"), gate)
    client_in, client_read = anyio.create_memory_object_stream[Any](10)
    client_write, client_out = anyio.create_memory_object_stream[Any](10)
    server_in, server_read = anyio.create_memory_object_stream[Any](10)
    server_write, server_out = anyio.create_memory_object_stream[Any](10)
    peers = Peers(client_in, client_out, server_in, server_out)
    async with anyio.create_task_group() as tg:
        tg.start_soon(proxy.run, (client_read, client_write), (server_read, server_write))
        capabilities = {"elicitation": {"form": {}}} if elicits else {}
        await peers.client_sends({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": capabilities,
            "clientInfo": {"name": "t", "version": "1"}}})  # fmt: skip
        assert (await peers.server_gets())["method"] == "initialize"
        await peers.server_sends({"jsonrpc": "2.0", "id": 0, "result": {
            "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
            "serverInfo": {"name": "s", "version": "1"}}})  # fmt: skip
        assert (await peers.client_gets())["id"] == 0
        try:
            yield peers
        finally:
            tg.cancel_scope.cancel()
            for stream in (client_in, server_in, client_out, server_out):
                await stream.aclose()


async def _serve_list(peers: Peers) -> None:
    """Answer the gateway's own tools/list, as the server."""
    asked = await peers.server_gets()
    assert asked["method"] == "tools/list"
    assert "progressToken" not in json.dumps(asked.get("params", {}))
    await peers.server_sends({"jsonrpc": "2.0", "id": asked["id"], "result": {"tools": TOOLS}})


def run(test: Callable[[], Awaitable[None]]) -> None:
    anyio.run(test)


def call(request_id: object, name: str, **arguments: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}  # fmt: skip


def test_a_server_cannot_answer_the_question_put_to_the_person(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path) as peers:
            await peers.client_sends(call(1, "wipe", path="/srv"))
            await _serve_list(peers)
            question = await peers.client_gets()
            assert question["method"] == "elicitation/create"
            assert '"path": "/srv"' in question["params"]["message"]  # the call, whole
            yes = {"action": "accept", "content": {"approve": True}}
            # Even knowing the question's id, the server's answer is not the person's.
            await peers.server_sends({"jsonrpc": "2.0", "id": question["id"], "result": yes})
            await peers.nothing_for_server()
            no = {"action": "decline"}
            await peers.client_sends({"jsonrpc": "2.0", "id": question["id"], "result": no})
            answer = await peers.client_gets()
            assert answer["id"] == 1
            assert answer["result"]["isError"] is True
            await peers.nothing_for_server()

    run(go)


def test_a_client_cannot_answer_the_gateways_tool_list(tmp_path: Path) -> None:
    """The client cannot slip in a list without the destructive hint: only the server's
    answer to the gateway's own request is taken."""

    async def go() -> None:
        async with running(tmp_path, elicits=False) as peers:
            await peers.client_sends(call(1, "wipe", path="/srv"))
            asked = await peers.server_gets()
            assert asked["method"] == "tools/list"
            bare = [{"name": "wipe", "inputSchema": PATH}]
            await peers.client_sends({"jsonrpc": "2.0", "id": asked["id"],
                                      "result": {"tools": bare}})  # fmt: skip
            await peers.server_sends({"jsonrpc": "2.0", "id": asked["id"],
                                      "result": {"tools": TOOLS}})  # fmt: skip
            answer = await peers.client_gets()
            assert answer["result"]["isError"] is True  # held: nobody here can approve
            await peers.nothing_for_server()

    run(go)


def test_calls_before_the_list_is_read_all_wait_for_it(tmp_path: Path) -> None:
    """Two calls at once before any list: neither is decided without the server's hints, and
    a hint learned stays after the list changes."""

    async def go() -> None:
        async with running(tmp_path, elicits=False) as peers:
            await peers.client_sends(call(1, "echo", text="hi"))
            await peers.client_sends(call(2, "wipe", path="/srv"))
            await _serve_list(peers)
            forwarded = await peers.server_gets()
            assert forwarded["params"]["name"] == "echo"
            refused = await peers.client_gets()
            assert (refused["id"], refused["result"]["isError"]) == (2, True)
            await peers.server_sends({"jsonrpc": "2.0", "method":
                                      "notifications/tools/list_changed"})  # fmt: skip
            assert (await peers.client_gets())["method"] == "notifications/tools/list_changed"
            await peers.client_sends(call(3, "wipe", path="/srv"))
            asked = await peers.server_gets()  # read again; this time the hint is missing
            quiet = [{"name": "wipe", "inputSchema": PATH}]
            await peers.server_sends({"jsonrpc": "2.0", "id": asked["id"],
                                      "result": {"tools": quiet}})  # fmt: skip
            again = await peers.client_gets()
            assert (again["id"], again["result"]["isError"]) == (3, True)
            await peers.nothing_for_server()

    run(go)


def test_a_tool_the_server_does_not_list_is_held(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path, elicits=False) as peers:
            await peers.client_sends(call(1, "echo", text="hi"))
            asked = await peers.server_gets()
            await peers.server_sends({"jsonrpc": "2.0", "id": asked["id"],
                                      "error": {"code": -32601, "message": "no"}})  # fmt: skip
            answer = await peers.client_gets()
            assert answer["result"]["isError"] is True  # could do anything: held, nobody to ask
            await peers.nothing_for_server()

    run(go)


@pytest.mark.parametrize("request_id", [None, 1.5, True])
def test_a_call_without_a_usable_id_is_not_relayed(tmp_path: Path, request_id: object) -> None:
    """The SDK's parser reads such a request as a notification; it goes nowhere."""

    async def go() -> None:
        async with running(tmp_path) as peers:
            line = json.dumps(call(request_id, "wipe", path="/srv"))
            await peers.client_in.send(SessionMessage(jsonrpc_message_adapter.validate_json(line)))
            await peers.nothing_for_server()
            await peers.client_sends({"jsonrpc": "2.0", "method": "notifications/progress",
                                      "params": {"progressToken": 1, "progress": 1}})  # fmt: skip
            assert (await peers.server_gets())["method"] == "notifications/progress"

    run(go)


def test_an_answer_the_server_did_not_ask_for_is_not_relayed(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path) as peers:
            await peers.client_sends({"jsonrpc": "2.0", "id": "x-1", "result": {}})
            await peers.nothing_for_server()
            await peers.server_sends({"jsonrpc": "2.0", "id": "roots-1", "method": "roots/list"})
            assert (await peers.client_gets())["method"] == "roots/list"
            await peers.client_sends({"jsonrpc": "2.0", "id": "roots-1", "result": {"roots": []}})
            assert (await peers.server_gets())["id"] == "roots-1"

    run(go)


def test_a_held_call_the_client_cancels_never_runs(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path) as peers:
            await peers.client_sends(call(7, "wipe", path="/srv"))
            await _serve_list(peers)
            question = await peers.client_gets()
            cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled",
                      "params": {"requestId": 7, "reason": "user gave up"}}  # fmt: skip
            await peers.client_sends(cancel)
            yes = {"action": "accept", "content": {"approve": True}}
            await peers.client_sends({"jsonrpc": "2.0", "id": question["id"], "result": yes})
            await peers.nothing_for_server()

    run(go)


def test_an_answer_is_taken_once_for_its_own_call() -> None:
    consent = Consent()
    reset = ToolCall("wipe", {"path": "/srv/cache"})
    state = consent.issue(reset)
    assert consent.redeem(state, reset) is True
    assert consent.redeem(state, reset) is False  # used
    other = consent.issue(reset)
    assert consent.redeem(other, ToolCall("wipe", {"path": "/"})) is False  # another call
    assert consent.redeem(other, reset) is False  # spent by the wrong try
    assert consent.redeem("watchkeeper:" + "0" * 32, reset) is False  # never issued


def test_an_answer_too_late_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import watchkeeper.doors.mcp_consent as consent_module

    consent = Consent()
    call_ = ToolCall("wipe", {"path": "/srv"})
    monkeypatch.setattr(consent_module, "TTL", -1.0)
    state = consent.issue(call_)
    assert consent.redeem(state, call_) is False


def test_the_orders_see_a_tools_own_server_argument() -> None:
    from watchkeeper.doors.claude_code import action_of

    event = {"tool_name": "mcp__db__query", "tool_input": {"server": "prod-db", "sql": "x"},
             "session_id": "s"}  # fmt: skip
    assert action_of(event)["input"] == {"server": "db", "server_argument": "prod-db", "sql": "x"}
    action = ToolCall("query", {"server": "prod-db"}).action("db", {}, session="s")
    assert action["input"] == {"server": "db", "server_argument": "prod-db"}
