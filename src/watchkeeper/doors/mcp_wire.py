"""What the MCP gateway reads and writes on the wire, apart from relaying it: a ``tools/call``
turned into an action, the answers it makes itself, the tool facts it keeps from ``tools/list``,
and the HTTP headers a message needs on its way to a server over streamable HTTP.

    call = ToolCall.of(request.params)          # raises BadCall on params no server should see
    action = call.action("git", catalog.hints(call.name), session="s-1")
    refused(request.id, "Denied: …")            # a tool error result, whose text is the answer

Messages are the SDK's own types (``mcp_types``); nothing here does I/O.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import mcp_types
from mcp.shared.inbound import (
    MCP_METHOD_HEADER,
    MCP_NAME_HEADER,
    MCP_PROTOCOL_VERSION_HEADER,
    NAME_BEARING_METHODS,
    encode_header_value,
)
from mcp_types import (
    PROTOCOL_VERSION_META_KEY,
    JSONRPCError,
    JSONRPCRequest,
    JSONRPCResponse,
)

#: JSON-RPC's code for a message that could not be parsed.
PARSE_ERROR = -32700
#: JSON-RPC's code for parameters a method cannot take.
INVALID_PARAMS = -32602
#: JSON-RPC's code for an error inside the one answering (here: the gateway, or its server gone).
INTERNAL_ERROR = -32603

#: Argument names by which a tool declares that it can say what it would do without doing it.
DRY_RUN_ARGUMENTS = ("dry_run", "dryRun", "dry-run")

#: The annotations the gateway reads; the MCP specification calls them hints.
HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")


class BadCall(ValueError):
    """A ``tools/call`` whose parameters no server should be sent."""


@dataclass(frozen=True)
class Tool:
    """What a server said of one tool in ``tools/list``: its annotations and its arguments."""

    name: str
    annotations: dict[str, bool] = field(default_factory=dict)
    arguments: frozenset[str] = frozenset()
    #: Its input schema as listed (``None``: none, or not an object).
    schema: dict[str, Any] | None = None
    #: Whether the server annotated it at all (the specification's defaults apply only then).
    annotated: bool = False

    @classmethod
    def of(cls, listed: Any) -> Tool | None:
        """The tool from one entry of a ``tools/list`` result; ``None`` for an entry without a
        name. Only boolean hints are kept: a hint of any other type says nothing."""
        if not isinstance(listed, dict) or not isinstance(listed.get("name"), str):
            return None
        given = listed.get("annotations")
        hints = {}
        if isinstance(given, dict):
            hints = {k: v for k, v in given.items() if k in HINTS and isinstance(v, bool)}
        schema = listed.get("inputSchema")
        properties = schema.get("properties") if isinstance(schema, dict) else None
        names = frozenset(properties) if isinstance(properties, dict) else frozenset()
        return cls(listed["name"], hints, names, schema if isinstance(schema, dict) else None,
                   isinstance(given, dict))  # fmt: skip

    @property
    def destructive(self) -> bool:
        """Whether the server declares the tool destructive: said so, or, where it annotated the
        tool, not said otherwise (the specification's defaults: ``destructiveHint`` true
        unless ``readOnlyHint`` is)."""
        hints = self.annotations
        if hints.get("destructiveHint") is True:
            return True
        if not self.annotated or hints.get("readOnlyHint") is True:
            return False
        return hints.get("destructiveHint") is not False

    @functools.cached_property
    def dry_run(self) -> str | None:
        """The argument by which the tool runs dry, if it declares one: a boolean of one of
        the usual names (a string flag such as kubectl's ``none|client|server`` is not one)."""
        from watchkeeper.adapters.arguments import flag_of

        return flag_of(self.schema, DRY_RUN_ARGUMENTS)


@dataclass(frozen=True)
class ToolCall:
    """The name and arguments of one ``tools/call``."""

    name: str
    arguments: dict[str, Any]

    @classmethod
    def of(cls, params: dict[str, Any] | None) -> ToolCall:
        """The call in ``params``; raise :class:`BadCall` naming what is wrong."""
        params = params or {}
        name = params.get("name")
        if not isinstance(name, str) or not name:
            raise BadCall(
                f"tools/call needs params.name, the tool's name as a string; got {name!r}"
            )
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise BadCall(
                f"tools/call params.arguments must be an object; got {type(arguments).__name__}"
            )
        return cls(name, arguments)

    def action(
        self, server: str, hints: dict[str, Any], *, session: str,
        environment: str | None = None, agent: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """The watchkeeper action of the call: the tool by its plain name, the server it goes
        to as ``input.server`` (as Claude Code's ``mcp__SERVER__TOOL`` calls are read, see
        :func:`~watchkeeper.doors.claude_code.mcp_input`), and what the server declares of the
        tool (``hints``) as ``context.mcp.annotations``."""
        from watchkeeper.doors.claude_code import mcp_input

        action: dict[str, Any] = {
            "tool": self.name,
            "input": mcp_input(self.arguments, server),
            "session": session,
            "context": {"mcp": {"server": server, "annotations": hints}},
        }
        if environment:
            action["environment"] = environment
        if agent:
            action["agent"] = agent
        return action


def refused(request_id: Any, text: str) -> JSONRPCResponse:
    """A tool result the model reads as the tool's answer: an error, whose text is ``text``."""
    # resultType: required from 2026-07-28 on; earlier peers ignore it.
    content = [{"type": "text", "text": text}]
    result = {"content": content, "isError": True, "resultType": "complete"}
    return JSONRPCResponse(jsonrpc="2.0", id=request_id, result=result)


def failed(request_id: Any, code: int, text: str) -> JSONRPCError:
    """A JSON-RPC error answer (the request itself could not be handled)."""
    error = mcp_types.ErrorData(code=code, message=text)
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=error)


def result_text(result: dict[str, Any], limit: int) -> str:
    """The text of a tool result (its text blocks, else its structured content as JSON), cut
    to ``limit`` characters with the cut said; an error result says so first."""
    blocks = result.get("content")
    blocks = blocks if isinstance(blocks, list) else []
    texts = [b.get("text") for b in blocks if isinstance(b, dict)]
    text = "\n".join(t for t in texts if isinstance(t, str))
    if not text and "structuredContent" in result:
        text = json.dumps(result["structuredContent"], sort_keys=True)
    if result.get("isError") is True:
        text = f"(the dry run failed) {text}"
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit} more characters)"
    return text


def outcome_of(answer: JSONRPCResponse | JSONRPCError) -> str:
    """How a call that ran went, in the audit log's words."""
    if isinstance(answer, JSONRPCError):
        return "failed"
    return "failed" if answer.result.get("isError") is True else "succeeded"


def modern_version(params: dict[str, Any] | None) -> str | None:
    """The protocol revision a request names in its ``_meta`` (2026-07-28 and later carry it on
    every request instead of negotiating it once)."""
    meta = (params or {}).get("_meta")
    version = meta.get(PROTOCOL_VERSION_META_KEY) if isinstance(meta, dict) else None
    return version if isinstance(version, str) else None


def headers_for(message: Any, negotiated: str | None) -> dict[str, str] | None:
    """The per-message HTTP headers a request needs on its way to a streamable-HTTP server: the
    protocol revision (the request's own, or the one ``initialize`` settled), and in the
    2026-07-28 revision its method and the name it acts on, as the SDK's own client sends."""
    if not isinstance(message, JSONRPCRequest):
        return {MCP_PROTOCOL_VERSION_HEADER: negotiated} if negotiated else None
    version = modern_version(message.params)
    if version is None:
        if message.method == "initialize" or not negotiated:
            return None
        return {MCP_PROTOCOL_VERSION_HEADER: negotiated}
    headers = {MCP_PROTOCOL_VERSION_HEADER: version, MCP_METHOD_HEADER: message.method}
    key = NAME_BEARING_METHODS.get(message.method)
    name = (message.params or {}).get(key) if key else None
    if isinstance(name, str):
        headers[MCP_NAME_HEADER] = encode_header_value(name)
    return headers


def approval_form(text: str) -> dict[str, Any]:
    """The ``elicitation/create`` parameters that ask the person at the client to allow a call."""
    schema = {
        "type": "object",
        "properties": {
            "approve": {
                "type": "boolean",
                "title": "Allow this call",
                "description": "Yes runs this one call once; no refuses it.",
            }
        },
        "required": ["approve"],
    }
    return {"mode": "form", "message": text, "requestedSchema": schema}


def approved(result: Any) -> bool:
    """Whether an elicitation's answer allows the call: accepted, and ``approve`` is true."""
    if not isinstance(result, dict) or result.get("action") != "accept":
        return False
    content = result.get("content")
    return isinstance(content, dict) and content.get("approve") is True
