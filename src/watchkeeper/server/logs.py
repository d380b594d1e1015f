"""What the server says it does: one line per request, one per decision, a banner at start.

    configure("json", "info")                  # once, before serving
    app = AccessLog(app)                       # the outermost layer: every request, one line

    {"time": "…", "level": "info", "logger": "watchkeeper.access", "method": "POST",
     "path": "/v1/actions", "status": 200, "ms": 1.8, "who": "agent infra-bot"}

Lines never carry a secret: the path without its query, who the credential belongs to (never
the credential), and of a decision its action id, tool, outcome and rules. Records are handed to
a queue and written by a thread of their own, so a slow terminal or pipe never stalls a request.
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import sys
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchkeeper.terminal import shown

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
access = logging.getLogger("watchkeeper.access")
decisions = logging.getLogger("watchkeeper.decision")
server = logging.getLogger("watchkeeper.server")
#: Fields of a record that are ours (``extra=``), in the order text lines show them.
FIELDS = ("method", "path", "status", "ms", "who", "action_id", "tool", "decision", "rules",
          "approval_id", "orders", "orders_digest", "database", "checkpoint_key")  # fmt: skip
_listener: logging.handlers.QueueListener | None = None


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: getattr(record, k) for k in FIELDS if hasattr(record, k)})
        return json.dumps(line, ensure_ascii=True, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger message key=value …``, every value shown as text."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z"
        pairs = " ".join(f"{k}={_value(getattr(record, k))}" for k in FIELDS
                         if hasattr(record, k))  # fmt: skip
        parts = [stamp, record.levelname.lower(), record.name, shown(record.getMessage()), pairs]
        return " ".join(p for p in parts if p)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Whatever ``sys.stderr`` is when a line is written (it may be replaced after start)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _value(value: Any) -> str:
    """A value as text, quoted when it holds a space, a quote or ``=`` (so lines split)."""
    text = shown(str(value))
    return json.dumps(text) if any(c in text for c in ' "=') or not text else text


def configure(form: str = "text", level: str = "info") -> None:
    """Send watchkeeper's loggers to stderr in ``form`` at ``level``, through a queue."""
    global _listener
    formatter: logging.Formatter = JsonFormatter() if form == "json" else TextFormatter()
    formatter.converter = time.gmtime
    out = _Stderr()
    out.setFormatter(formatter)
    if _listener is not None:
        _listener.stop()
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, out)
    _listener.start()
    atexit.register(_listener.stop)
    root = logging.getLogger("watchkeeper")
    root.handlers = [logging.handlers.QueueHandler(records)]
    root.setLevel(level.upper())
    root.propagate = False


def who(scope: Scope, name: str) -> None:
    """Say who made this request (``agent infra-bot``, ``alice@example.com``) for its line."""
    scope.setdefault("state", {})["who"] = name


class AccessLog:
    """One line per request: method, path (no query), status, milliseconds, who."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not access.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the application fails before it answers

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            ms = round((time.perf_counter() - started) * 1000, 2)
            fields = {"method": scope["method"], "path": scope["path"], "status": status,
                      "ms": ms, "who": scope.get("state", {}).get("who", "-")}  # fmt: skip
            access.info("request", extra=fields)
