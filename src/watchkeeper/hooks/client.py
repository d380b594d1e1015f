"""A small client of the watchkeeper server for hooks: the standard library only, so that a hook
in server mode starts as fast as Python does.

    client = Client("http://127.0.0.1:8600", "wk_agent_…", timeout=20)
    client.post("/v1/actions", {"tool": "shell", "input": {"command": "ls"}})

Every failure (no server, a refusal, an answer that is not a JSON object) raises
:class:`ServerError` with what the server said; the hook turns it into ``deny``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

TYPE_CHECKING = False  # not typing's: see watchkeeper/hooks/__init__.py
if TYPE_CHECKING:
    from typing import Any


class ServerError(RuntimeError):
    """The server could not be asked, or refused."""


class Client:
    """JSON over HTTP to one server, as one agent (its key)."""

    def __init__(self, url: str, key: str | None, timeout: float) -> None:
        if not url.startswith(("http://", "https://")):
            raise ServerError(f"the server URL {url!r} does not start with http:// or https://")
        if not key:
            raise ServerError(
                "no agent key: set WATCHKEEPER_TOKEN (or WATCHKEEPER_API_KEY) where the hook runs"
            )
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout

    def get(self, path: str) -> dict[str, Any]:
        return self._call("GET", path, None)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", path, json.dumps(body).encode())

    def _call(self, method: str, path: str, body: bytes | None) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise ServerError(
                f"the server refused {method} {path}: {exc.code} {_said(exc)}"
            ) from None
        except (OSError, ValueError) as exc:
            raise ServerError(f"the server at {self.url} could not be asked: {exc}") from None
        try:
            found = json.loads(raw)
        except ValueError:
            found = None
        if not isinstance(found, dict):
            raise ServerError(f"the server's answer to {method} {path} is not a JSON object")
        return found


def _said(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except (OSError, ValueError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"{error.get('code', '')}: {error.get('message', '')}"
    return str(body.get("detail", "")) if isinstance(body, dict) else ""
