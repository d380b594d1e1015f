"""``watchkeeper mcp-proxy``: an MCP server that stands in front of another and gates its tools.

    watchkeeper mcp-proxy --server-name git -- uvx mcp-server-git --repository .
    watchkeeper mcp-proxy --server https://wk.example --server-name db -- https://db.example/mcp

The client (Claude Code, an agent framework, the SDK's ``Client``) speaks to the gateway over
stdio; the gateway speaks to the wrapped server over stdio (a command) or streamable HTTP (a
URL), with the official SDK's transports on both sides. Every message is relayed as it is,
except:

- ``tools/call`` is decided first, by the same service as every other door
  (:func:`watchkeeper.doors.gate.decide`): ``allow`` forwards it; ``deny`` answers with a tool
  error whose text is the answer back; ``ask`` waits for the approval, or asks the person at the
  client through elicitation when anyone may approve. The call's outcome is reported.
- ``tools/list`` answers leave out, with ``--hide-unchartered``, the tools outside the agent's
  charter, and teach the gateway each tool's annotations, which go with every call to be
  decided (``context.mcp.annotations``): a server that calls a tool destructive makes its
  decision stricter, never looser.

A message that is not JSON-RPC is never relayed; a call that cannot be decided is refused with
the error as the reason; when the wrapped server stops, every request it had not answered, and
every later one, is answered with an error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
from mcp.shared.message import ClientMessageMetadata, SessionMessage
from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    PROTOCOL_VERSION_META_KEY,
    JSONRPCError,
    JSONRPCMessage,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
)

from watchkeeper.adapters.arguments import BadArguments, checked
from watchkeeper.adapters.tool_gate import ToolGate
from watchkeeper.doors import gate
from watchkeeper.doors.mcp_catalog import Catalog
from watchkeeper.doors.mcp_consent import PREFIX as STATE_PREFIX
from watchkeeper.doors.mcp_consent import Consent
from watchkeeper.doors.mcp_wire import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    PARSE_ERROR,
    BadCall,
    ToolCall,
    approval_form,
    approved,
    failed,
    headers_for,
    modern_version,
    outcome_of,
    refused,
    result_text,
)

log = logging.getLogger("watchkeeper.mcp")

#: Seconds the gateway waits for the wrapped server's ``tools/list`` when it lists tools itself.
LIST_SECONDS = 10.0
#: Seconds checking a call's arguments against its tool's schema may take.
CHECK_SECONDS = 2.0
#: Seconds a dry run may take before the real call is decided without it.
DRY_RUN_SECONDS = 30.0
#: The most characters of a dry run's result carried to the people who decide.
PREVIEW_CHARS = 4000
#: The key of the gateway's own input request in a 2026-07-28 ``input_required`` result.
INPUT_KEY = "watchkeeper-approval"
#: The ``_meta`` keys a 2026-07-28 request must carry, copied to the gateway's own requests.
PROTOCOL_META = (PROTOCOL_VERSION_META_KEY, CLIENT_INFO_META_KEY, CLIENT_CAPABILITIES_META_KEY)

Decider = Callable[[dict[str, Any]], gate.Verdict]
Reporter = Callable[[gate.Verdict, str], None]


@dataclass
class Options:
    """How the gateway decides: see ``watchkeeper mcp-proxy --help``."""

    server_name: str
    session: str
    environment: str | None = None
    agent: str | None = None
    hide_unchartered: bool = False
    #: The tool-name patterns of the agent's charter; ``None``: no charter restricts tools.
    charter: frozenset[str] | None = None


@dataclass
class _Pending:
    """A request the gateway sent itself, and its answer once it came."""

    done: anyio.Event = field(default_factory=anyio.Event)
    answer: JSONRPCResponse | JSONRPCError | None = None


class _Side:
    """One peer (the client, or the wrapped server): how to send it a message, and the
    requests the gateway itself sent it. An answer is taken only from the side it was asked
    of, under an id nobody can guess."""

    def __init__(self, send: Callable[[JSONRPCMessage], Any]) -> None:
        self.send = send
        self.pending: dict[str, _Pending] = {}

    async def request(
        self, method: str, params: dict[str, Any], timeout: float | None
    ) -> JSONRPCResponse | JSONRPCError | None:
        """Send a request of the gateway's own and wait for its answer (``None``: none came)."""
        request_id = f"watchkeeper-{secrets.token_hex(16)}"
        pending = self.pending[request_id] = _Pending()
        try:
            await self.send(
                JSONRPCRequest(jsonrpc="2.0", id=request_id, method=method, params=params)
            )
            with anyio.move_on_after(timeout):
                await pending.done.wait()
        finally:
            self.pending.pop(request_id, None)
        return pending.answer

    def answered(self, message: JSONRPCResponse | JSONRPCError) -> bool:
        """Take ``message`` if it answers one of this side's requests."""
        pending = self.pending.pop(message.id, None) if isinstance(message.id, str) else None
        if pending is None:
            return False
        pending.answer = message
        pending.done.set()
        return True

    def owns(self, request_id: object) -> bool:
        return isinstance(request_id, str) and request_id in self.pending

    def give_up(self) -> None:
        for pending in self.pending.values():
            pending.done.set()


class Proxy:
    """The relay between one client and one wrapped server."""

    def __init__(self, options: Options, tools: ToolGate, http: bool = False) -> None:
        self.options = options
        self.tools = tools
        self.decide: Decider = tools.decide
        self.report: Reporter | None = tools.outcome if tools.server else None
        self.http = http  # the wrapped server is reached over streamable HTTP
        self.catalog = Catalog()
        self.consent = Consent()
        self.listing: set[Any] = set()  # the client's tools/list requests
        self.running: dict[Any, gate.Verdict] = {}  # calls let through, and their verdicts
        self.forwarded: set[Any] = set()  # the client's requests the server has to answer
        self.server_asked: set[Any] = set()  # the server's requests the client has to answer
        self.holding: dict[Any, anyio.CancelScope] = {}  # calls being decided or asked about
        self.client = _Side(self._to_client)
        self.server = _Side(self._to_server)
        self.elicits = False  # the client said at initialize that it can ask its person
        self.initialize: Any = None
        self.negotiated: str | None = None
        self.server_gone = False
        self.to_client: Any = None
        self.to_server: Any = None

    async def run(self, client: Any, server: Any) -> None:
        """Relay between ``client`` and ``server``, each a (read, write) pair of the SDK's
        message streams, until the client leaves or the server stops."""
        (client_read, self.to_client), (server_read, self.to_server) = client, server
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._from_server, server_read, tg)
                await self._from_client(client_read, tg)
                tg.cancel_scope.cancel()
        finally:  # the transports' writers end when their streams do: then both sides close
            await self.to_server.aclose()
            await self.to_client.aclose()

    # --- client to server ---------------------------------------------------------------

    async def _from_client(self, read: Any, tg: anyio.abc.TaskGroup) -> None:
        async with read:
            async for item in read:
                if isinstance(item, Exception):  # never relayed: nobody knows what it says
                    log.warning("the client sent a message that is not MCP: %s", item)
                    await self._to_client(failed(None, PARSE_ERROR, f"not JSON-RPC: {item}"))
                    continue
                await self._client_said(item.message, tg)

    async def _client_said(self, message: JSONRPCMessage, tg: anyio.abc.TaskGroup) -> None:
        if isinstance(message, JSONRPCRequest):
            if self.server_gone:
                await self._to_client(failed(message.id, INTERNAL_ERROR, _GONE))
            elif message.method == "tools/call":
                tg.start_soon(self._call, message)
            else:
                if message.method == "initialize":
                    self._initializing(message)
                elif message.method == "tools/list":
                    self.listing.add(message.id)
                await self._forward(message)
        elif isinstance(message, (JSONRPCResponse, JSONRPCError)):
            if self.client.answered(message):  # the person's answer to the gateway's question
                return
            if message.id not in self.server_asked:  # not an answer the server waits for
                log.warning("the client answered a request it was not sent: %r", message.id)
                return
            self.server_asked.discard(message.id)
            if not self.server_gone:
                await self._to_server(message)
        elif isinstance(message, JSONRPCNotification):
            await self._client_notified(message)

    async def _client_notified(self, message: JSONRPCNotification) -> None:
        """Notifications, and only they, go on: a request the parser could not give an id
        (``"id": null``, a fraction) reads as a notification, and must not reach a server
        that would run it."""
        if not message.method.startswith("notifications/"):
            log.warning("the client sent %r without a usable id: not relayed", message.method)
            return
        if message.method == "notifications/cancelled":
            held = (message.params or {}).get("requestId")
            with contextlib.suppress(TypeError):  # an id that cannot be a key is nobody's
                scope = self.holding.pop(held, None)
                if scope is not None:  # a call still being decided here: it never goes on
                    scope.cancel()
                    return
        if not self.server_gone:
            await self._to_server(message)

    def _initializing(self, message: JSONRPCRequest) -> None:
        self.initialize = message.id
        capabilities = (message.params or {}).get("capabilities")
        self.elicits = isinstance(capabilities, dict) and "elicitation" in capabilities

    async def _forward(self, message: JSONRPCRequest) -> None:
        self.forwarded.add(message.id)
        await self._to_server(message)

    async def _to_server(self, message: JSONRPCMessage) -> None:
        metadata = None
        if self.http:
            headers = headers_for(message, self.negotiated)
            metadata = ClientMessageMetadata(headers=headers) if headers else None
        try:
            await self.to_server.send(SessionMessage(message, metadata=metadata))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            await self._server_stopped()

    async def _to_client(self, message: JSONRPCMessage) -> None:
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            await self.to_client.send(SessionMessage(message))

    # --- server to client ---------------------------------------------------------------

    async def _from_server(self, read: Any, tg: anyio.abc.TaskGroup) -> None:
        try:
            async with read:
                async for item in read:
                    if isinstance(item, Exception):  # dropped: what it answers stays unanswered
                        log.warning("the MCP server sent a message that is not MCP: %s", item)
                        continue
                    await self._server_said(item.message, tg)
        finally:
            await self._server_stopped()

    async def _server_said(self, message: JSONRPCMessage, tg: anyio.abc.TaskGroup) -> None:
        if isinstance(message, (JSONRPCResponse, JSONRPCError)):
            if self.server.answered(message):
                return
            if message.id not in self.forwarded:  # nobody asked: not the client's to see
                log.warning("the MCP server answered a request nobody sent: %r", message.id)
                return
            self.forwarded.discard(message.id)
            if message.id == self.initialize and isinstance(message, JSONRPCResponse):
                version = message.result.get("protocolVersion")
                self.negotiated = version if isinstance(version, str) else None
            if message.id in self.listing:
                self.listing.discard(message.id)
                if isinstance(message, JSONRPCResponse):
                    message = self._listed(message)
            if message.id in self.running:
                ran = self.running.pop(message.id)
                if self.report is not None:
                    tg.start_soon(self._report, ran, outcome_of(message))
        elif isinstance(message, JSONRPCRequest):
            if self.client.owns(message.id):  # would be taken for the person's answer
                log.warning("the MCP server sent a request under the gateway's own id: dropped")
                return
            self.server_asked.add(message.id)
        elif message.method == "notifications/tools/list_changed":
            self.catalog.forget()
        await self._to_client(message)

    def _listed(self, answer: JSONRPCResponse) -> JSONRPCResponse:
        """Learn the tools of one ``tools/list`` page; leave out the unchartered ones."""
        tools = answer.result.get("tools")
        if not isinstance(tools, list):
            return answer
        self.catalog.learn(tools)
        kept = [t for t in tools if not isinstance(t, dict) or self._offered(t.get("name"))]
        if len(kept) == len(tools):
            return answer
        return JSONRPCResponse(jsonrpc="2.0", id=answer.id, result={**answer.result, "tools": kept})

    def _offered(self, name: object) -> bool:
        """Whether the client is shown the tool: always, unless it is hidden as unchartered."""
        from fnmatch import fnmatchcase

        charter = self.options.charter
        if not self.options.hide_unchartered or charter is None:
            return True
        return isinstance(name, str) and any(fnmatchcase(name, p) for p in charter)

    async def _report(self, verdict: gate.Verdict, status: str) -> None:
        """Tell the service how a call went (the reporter says nothing when it fails)."""
        assert self.report is not None
        await anyio.to_thread.run_sync(self.report, verdict, status)

    async def _server_stopped(self) -> None:
        """The wrapped server is gone: every request it had not answered gets an error."""
        if self.server_gone:
            return
        self.server_gone = True
        waiting = [*self.forwarded, *self.running]
        self.forwarded.clear()
        self.running.clear()
        for request_id in dict.fromkeys(waiting):
            await self._to_client(failed(request_id, INTERNAL_ERROR, _GONE))
        self.server.give_up()

    # --- a tool call ----------------------------------------------------------------------

    async def _call(self, request: JSONRPCRequest) -> None:
        """Decide one ``tools/call``; forward it, or answer it here. A call the client cancels
        while it is decided or asked about is dropped (and answered by nobody, as the protocol
        says)."""
        try:
            call = ToolCall.of(request.params)
        except BadCall as exc:
            await self._to_client(failed(request.id, INVALID_PARAMS, str(exc)))
            return
        text: str | None = None
        with anyio.CancelScope() as scope:
            self.holding[request.id] = scope
            try:
                text = await self._gate(request, call)
            except Exception as exc:  # every error on the way is a refusal, saying what it was
                text = gate.unable(f"{type(exc).__name__}: {exc}")
            finally:
                self.holding.pop(request.id, None)
        if scope.cancelled_caught:
            log.warning("call %r was cancelled by the client before it was sent", request.id)
            return
        if text is not None:
            await self._to_client(refused(request.id, text))

    async def _gate(self, request: JSONRPCRequest, call: ToolCall) -> str | None:
        """``None`` once the call is on its way (or a question is); else why it is refused."""
        if not self._offered(call.name):
            return (
                f"The tool {call.name!r} is not offered to this agent: it is outside the agent's "
                f"charter ({', '.join(sorted(self.options.charter or ()))}). Do not try it "
                "another way; ask the user."
            )
        await self.catalog.ensure(lambda cursor: self._list_page(request, cursor))
        tool = self.catalog.get(call.name)
        if tool is not None:  # decided on what the tool will take, and sent that
            try:
                # In a thread, and bounded: a schema is the server's (a pattern may backtrack).
                with anyio.fail_after(CHECK_SECONDS):
                    arguments = await anyio.to_thread.run_sync(
                        checked, tool.schema, call.arguments, abandon_on_cancel=True
                    )
            except (BadArguments, TimeoutError) as exc:
                why = str(exc) or f"checking them took over {CHECK_SECONDS:g} s"
                return (
                    f"Not sent: the arguments are not ones {call.name!r} takes ({why}). Call it "
                    "again with arguments its input schema accepts."
                )
            call, request = ToolCall(call.name, arguments), _with_arguments(request, arguments)
        action = self._action(call)
        flag = tool.dry_run if tool is not None else None
        if flag is not None and call.arguments.get(flag) is not True:
            # A dry run first, only for a call people will be asked about: the look opens no
            # approval; for allow and deny it is the decision.
            kind, verdict = await anyio.to_thread.run_sync(
                self.tools.probe, action, abandon_on_cancel=True
            )
            if kind == "ask":
                preview = await self._dry_run(request, call, flag)
                if preview is not None:
                    action["context"]["mcp"]["dry_run"] = preview
                verdict = await self._decided(action)
        else:
            verdict = await self._decided(action)
        if verdict.decision == "ask":
            asked = await self._ask_person(request, call, verdict.message)
            if asked is _ASKED:
                return None
            if isinstance(asked, str):
                return asked
        elif verdict.decision != "allow":
            return verdict.message
        if self.server_gone:
            return _GONE
        self.holding.pop(request.id, None)  # on its way: a cancel goes to the server now
        self.running[request.id] = verdict
        await self._forward(_without_our_answers(request))
        return None

    async def _decided(self, action: dict[str, Any]) -> gate.Verdict:
        """The verdict, decided in a worker thread; a cancelled call stops waiting for it."""
        return await anyio.to_thread.run_sync(self.decide, action, abandon_on_cancel=True)

    def _action(self, call: ToolCall) -> dict[str, Any]:
        """The action of ``call``; ``context.mcp.dry_run_call`` is true when it is a dry run by
        the tool's own declared argument (a condition to allow dry runs by, which an argument
        the tool does not have cannot fake)."""
        o = self.options
        action = call.action(o.server_name, self.catalog.hints(call.name), session=o.session,
                             environment=o.environment, agent=o.agent)  # fmt: skip
        tool = self.catalog.get(call.name)
        flag = tool.dry_run if tool is not None else None
        if flag is not None and call.arguments.get(flag) is True:
            action["context"]["mcp"]["dry_run_call"] = True
        return action

    async def _list_page(
        self, request: JSONRPCRequest, cursor: str | None
    ) -> dict[str, Any] | None:
        """One page of the server's tools, asked by the gateway itself: with the protocol's
        own ``_meta`` of the call (a 2026-07-28 request carries its revision), nothing else."""
        params: dict[str, Any] = {}
        meta = (request.params or {}).get("_meta")
        if isinstance(meta, dict):
            kept = {k: meta[k] for k in PROTOCOL_META if k in meta}
            if kept:
                params["_meta"] = kept
        if cursor:
            params["cursor"] = cursor
        answer = await self.server.request("tools/list", params, LIST_SECONDS)
        return answer.result if isinstance(answer, JSONRPCResponse) else None

    async def _dry_run(
        self, request: JSONRPCRequest, call: ToolCall, flag: str
    ) -> dict[str, Any] | None:
        """What the tool says it would do: the same call with its dry-run argument set, run
        first when the tool declares one, for the people who may be asked to approve the real
        call. The dry run is a call like any other: decided (and recorded) first, and run only
        when allowed. ``None`` when it was not run or said nothing."""
        if call.arguments.get(flag) is True:
            return None  # the call is itself the dry run
        tool = self.catalog.get(call.name)
        try:  # the twin is a call like any other: the tool must take it as it is
            twin = ToolCall(call.name, checked(tool.schema if tool else None,
                                               {**call.arguments, flag: True}))  # fmt: skip
        except BadArguments:
            return None
        verdict = await self._decided(self._action(twin))
        if verdict.decision != "allow" or self.server_gone:
            return None
        params: dict[str, Any] = {"name": twin.name, "arguments": twin.arguments}
        meta = (request.params or {}).get("_meta")
        if isinstance(meta, dict):
            params["_meta"] = {k: meta[k] for k in PROTOCOL_META if k in meta}
        answer = await self.server.request("tools/call", params, DRY_RUN_SECONDS)
        if self.report is not None and answer is not None:
            await self._report(verdict, outcome_of(answer))
        if not isinstance(answer, JSONRPCResponse):
            return None
        return {"argument": flag, "result": result_text(answer.result, PREVIEW_CHARS)}

    async def _ask_person(self, request: JSONRPCRequest, call: ToolCall, why: str) -> object:
        """Ask the person at the client to allow the call: ``True`` when they did, :data:`_ASKED`
        when the question is the answer for now, else why it is refused (a string).

        A 2026-07-28 client is answered with an ``input_required`` result and brings the answer
        back with the same call; an earlier one is sent ``elicitation/create``."""
        text = self.consent.question(why, self.options.server_name, call)
        if text is None:
            return f"{why} It needs a person's approval, and the call is too large to show whole."
        params = request.params or {}
        if modern_version(params) is not None:
            state = params.get("requestState")
            answers = params.get("inputResponses")
            if isinstance(state, str) and state.startswith(STATE_PREFIX):
                if self.consent.redeem(state, call) and isinstance(answers, dict):
                    return True if approved(answers.get(INPUT_KEY)) else _DECLINED
                return (
                    "The answer brought back is for another call, was used already or came too "
                    "late: nothing ran. Make the call again to be asked again."
                )
            if not _can_elicit(params):
                return _no_person(why)
            result = {
                "resultType": "input_required",
                "inputRequests": {
                    INPUT_KEY: {"method": "elicitation/create", "params": approval_form(text)}
                },
                "requestState": self.consent.issue(call),
            }
            await self._to_client(JSONRPCResponse(jsonrpc="2.0", id=request.id, result=result))
            return _ASKED
        if not self.elicits:
            return _no_person(why)
        answer = await self.client.request("elicitation/create", approval_form(text), None)
        if isinstance(answer, JSONRPCResponse) and approved(answer.result):
            return True
        return _DECLINED


def _with_arguments(request: JSONRPCRequest, arguments: dict[str, Any]) -> JSONRPCRequest:
    """The call with ``arguments``: what was decided is what is sent."""
    params = {**(request.params or {}), "arguments": arguments}
    return JSONRPCRequest(jsonrpc="2.0", id=request.id, method=request.method, params=params)


def _without_our_answers(request: JSONRPCRequest) -> JSONRPCRequest:
    """The call as the server is sent it: without the answer to the gateway's own question."""
    params = request.params or {}
    state = params.get("requestState")
    if not (isinstance(state, str) and state.startswith(STATE_PREFIX)):
        return request
    kept = {k: v for k, v in params.items() if k not in ("requestState", "inputResponses")}
    return JSONRPCRequest(jsonrpc="2.0", id=request.id, method=request.method, params=kept)


def _can_elicit(params: dict[str, Any]) -> bool:
    """Whether a 2026-07-28 request says its client can ask its person (form elicitation)."""
    meta = params.get("_meta")
    capabilities = meta.get(CLIENT_CAPABILITIES_META_KEY) if isinstance(meta, dict) else None
    return isinstance(capabilities, dict) and "elicitation" in capabilities


def _no_person(why: str) -> str:
    from watchkeeper.adapters.tool_gate import nobody_to_ask

    return nobody_to_ask(why, "this MCP client cannot ask one (it does not support elicitation)")


_GONE = "The MCP server behind watchkeeper stopped; whether the call ran is not known."
_DECLINED = "Not allowed: the person at the client declined it. Do not try it another way."
#: The question is the answer for now: the client brings the call back with the person's answer.
_ASKED = object()


# --- running it -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def upstream(target: list[str], cwd: str | None = None) -> AsyncIterator[Any]:
    """The SDK's transport to the wrapped server: a URL over streamable HTTP, else a command
    over stdio, with this process's environment less watchkeeper's own settings (the agent's
    key and the database's address are not the wrapped server's)."""
    if len(target) == 1 and target[0].startswith(("http://", "https://")):
        from mcp.client.streamable_http import streamable_http_client

        async with streamable_http_client(target[0]) as streams:
            yield streams
        return
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    params = StdioServerParameters(command=target[0], args=target[1:], env=env, cwd=cwd)
    async with stdio_client(params) as streams:
        yield streams


async def serve(target: list[str], options: Options, tools: ToolGate) -> None:
    """Serve one client on this process's stdin and stdout, in front of ``target``."""
    from mcp.server.stdio import stdio_server

    http = len(target) == 1 and target[0].startswith(("http://", "https://"))
    proxy = Proxy(options, tools, http=http)
    async with stdio_server() as client, upstream(target) as server:
        await proxy.run(client, server)
