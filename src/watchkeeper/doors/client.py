"""A small client of the watchkeeper server for hooks: the standard library only, so that a hook
in server mode starts as fast as Python does.

    client = Client("http://127.0.0.1:8600", "wk_agent_…", timeout=20)
    client.post("/v1/actions", {"tool": "shell", "input": {"command": "ls"}})

Every failure (no server, a refusal, an answer that is not a JSON object) raises
:class:`ServerError` with what the server said; the hook turns it into ``deny``.
"""

from __future__ import annotations

import json
import socket

TYPE_CHECKING = False  # not typing's: see watchkeeper/doors/__init__.py
if TYPE_CHECKING:
    from typing import Any

#: The largest answer read from the server.
MAX_ANSWER = 8 * 1024 * 1024


class ServerError(RuntimeError):
    """The server could not be asked, or refused."""


class Client:
    """JSON over HTTP to one server, as one agent (its key)."""

    def __init__(self, url: str, key: str | None, timeout: float) -> None:
        scheme, sep, rest = url.partition("://")
        if not sep or scheme not in ("http", "https"):
            raise ServerError(f"the server URL {url!r} does not start with http:// or https://")
        if not key:
            raise ServerError(
                "no agent key: set WATCHKEEPER_TOKEN (or WATCHKEEPER_API_KEY) where the hook runs"
            )
        where, _, base = rest.partition("/")
        default = "443" if scheme == "https" else "80"
        if where.startswith("["):  # [::1]:8600
            host, _, tail = where[1:].partition("]")
            port = tail[1:] if tail.startswith(":") else default
        else:
            host, colon, port = where.partition(":")
            port = port if colon else default
        if not host or not port.isdigit() or any(c in url for c in "\r\n \x00"):
            raise ServerError(f"the server URL {url!r} is not http(s)://host[:port]")
        self.url = url.rstrip("/")
        self.tls = scheme == "https"
        self.host = host
        self.port = int(port)
        self.base = "/" + base.strip("/") if base.strip("/") else ""
        self.key = key
        self.timeout = timeout

    def get(self, path: str) -> dict[str, Any]:
        return self._call("GET", path, b"")

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", path, json.dumps(body).encode())

    def _call(self, method: str, path: str, body: bytes) -> dict[str, Any]:
        # HTTP/1.1 by hand, one request per connection: http.client and urllib would double
        # the hook's start-up (they import the email package to read headers).
        head = (
            f"{method} {self.base}{path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {self.key}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        try:
            # An ASCII host as bytes: a str would be encoded by the idna codec, an import that
            # costs the hook more than the request itself.
            host: Any = self.host.encode() if self.host.isascii() else self.host
            with socket.create_connection((host, self.port), timeout=self.timeout) as raw:
                conn = raw
                if self.tls:
                    import ssl

                    conn = ssl.create_default_context().wrap_socket(raw, server_hostname=self.host)
                conn.sendall(head.encode("latin-1") + body)
                answer = _read_all(conn)
        except OSError as exc:
            raise ServerError(f"the server at {self.url} could not be asked: {exc}") from None
        status, found = _parse(answer)
        if status >= 400 or not isinstance(found, dict):
            said = _said(found)
            raise ServerError(f"the server refused {method} {path}: {status} {said}".rstrip())
        return found


def _read_all(conn: socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER:
            raise ServerError(f"the server's answer is larger than {MAX_ANSWER} bytes")
        chunks.append(chunk)


def _parse(answer: bytes) -> tuple[int, object]:
    """The status and the JSON body of one HTTP/1.1 answer (``Content-Length`` or chunked)."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ServerError(f"the server's answer is not HTTP: {answer[:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _unchunk(body)
    elif headers.get("content-length", "").isdigit():
        body = body[: int(headers["content-length"])]
    try:
        return int(parts[1]), json.loads(body)
    except ValueError:
        return int(parts[1]), None


def _unchunk(body: bytes) -> bytes:
    out = []
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        body = rest[size + 2 :]
    return b"".join(out)


def _said(found: object) -> str:
    if not isinstance(found, dict):
        return "(no JSON answer)"
    error = found.get("error")
    if isinstance(error, dict):
        return f"{error.get('code', '')}: {error.get('message', '')}"
    return str(found.get("detail", ""))
