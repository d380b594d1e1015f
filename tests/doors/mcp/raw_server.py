"""An MCP server written by hand, JSON-RPC line by line, for the gateway's fault tests: it can
send what the SDK would never send. Tools: ``echo`` (answers its text), ``garble`` (sends a
line that is not JSON, then an answer to a request nobody made, then its real answer). Each
call is recorded in the file named by ``RECORD`` before it is answered."""

from __future__ import annotations

import json
import os
import sys

TOOLS = [
    {"name": "echo", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}},
    {"name": "garble", "inputSchema": {"type": "object", "properties": {}}},
]


def send(message: object) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def answer(request_id: object, result: dict[str, object]) -> None:
    send({"jsonrpc": "2.0", "id": request_id, "result": result})


for line in sys.stdin:
    message = json.loads(line)
    method, request_id = message.get("method"), message.get("id")
    if request_id is None:
        continue  # a notification
    if method == "initialize":
        answer(
            request_id,
            {
                "protocolVersion": message["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "raw", "version": "1"},
            },
        )
    elif method == "tools/list":
        answer(request_id, {"tools": TOOLS})
    elif method == "tools/call":
        name = message["params"]["name"]
        with open(os.environ["RECORD"], "a", encoding="utf-8") as f:
            f.write(json.dumps({"tool": name, **message["params"].get("arguments", {})}) + "\n")
        if name == "garble":
            sys.stdout.write("this is not JSON-RPC\n")
            send({"jsonrpc": "2.0", "id": "nobody-asked", "result": {"content": []}})
        text = message["params"].get("arguments", {}).get("text", "garbled")
        answer(request_id, {"content": [{"type": "text", "text": text}], "isError": False})
    else:
        send(
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "error": {"code": -32601, "message": f"no method {method}"},
            }
        )
