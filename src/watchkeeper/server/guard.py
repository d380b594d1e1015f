"""What every request must be before anything reads it, in plain ASGI (it costs next to nothing
per request)."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchkeeper.errors import Refused
from watchkeeper.server.errors import response


class Guard:
    """Bounds on every request:

    - bodies are limited: ``limit`` bytes for actions (plans are large), ``small`` for every
      other endpoint; by Content-Length before reading, and while reading a chunked body;
    - a body must keep arriving: ``BODY_SECONDS`` of silence ends the request (408), so a
      client dripping a byte at a time cannot hold a connection and its memory for ever;
    - a URL holding a NUL character is refused (400): no database text can carry it.
    """

    BODY_SECONDS = 30.0

    def __init__(self, app: ASGIApp, limit: int, small: int = 64 * 1024) -> None:
        self.app, self.limit, self.small = app, limit, small

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            refused = "the URL holds a NUL character (%00); no id or value has one"
            await response(400, "invalid_request", refused)(scope, receive, send)
            return
        limit = self.limit if scope["path"] == "/v1/actions" else self.small
        too_large = f"request bodies to {scope['path']} are limited to {limit} bytes"
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await response(413, "too_large", too_large)(scope, receive, send)
                return
        received, complete = 0, False

        async def counted() -> Message:
            nonlocal received, complete
            if complete:  # the body is in: what remains is waiting to hear of a disconnect
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.BODY_SECONDS)
            except TimeoutError:
                raise Refused("timeout", f"the body stopped arriving for "
                              f"{self.BODY_SECONDS:g} s; send it whole") from None  # fmt: skip
            received += len(message.get("body", b""))
            complete = not message.get("more_body", False)
            if received > limit:  # answered by the error handler, in the error shape
                raise Refused("too_large", too_large)
            return message

        await self.app(scope, counted, send)
