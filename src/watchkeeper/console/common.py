"""What every page of the console shares: the banner's pauses, the answer to a refusal, role
checks, and running the service's blocking calls off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from watchkeeper.console.access import Visitor, service_of
from watchkeeper.console.render import HEADERS, page
from watchkeeper.errors import Refused, WatchkeeperError
from watchkeeper.server.errors import STATUS

T = TypeVar("T")


async def base(request: Request, who: Visitor, title: str) -> dict[str, Any]:
    """What every page shows: who is signed in, the forms' token, the pauses in force."""
    service = service_of(request)
    pauses = await run_in_threadpool(service.pauses_in_force)
    return {"title": title, "who": who, "csrf": who.session.csrf, "pauses": pauses,
            "path": request.url.path}  # fmt: skip


def done(to: str) -> Response:
    """After a form that changed something: see the result at ``to`` (303, then GET)."""
    return RedirectResponse(to, status_code=303, headers=HEADERS)


async def refusal(request: Request, who: Visitor, exc: WatchkeeperError) -> Response:
    """The page saying why something was not done, with the status the API gives it."""
    code = exc.code if isinstance(exc, Refused) else ""
    status = STATUS.get(code, 409)  # as the API answers the same refusal
    context = await base(request, who, "Not done")
    return page("error.html", {**context, "message": str(exc)}, status=status)


def roles(who: Visitor, *roles: str) -> None:
    """Refuse (``forbidden``) anyone who holds none of ``roles``."""
    if who.session.user.role not in roles:
        raise Refused("forbidden", f"this page needs the role {' or '.join(roles)}; you are "
                                   f"{who.session.user.role}")  # fmt: skip


async def call(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` (the service's blocking work) on the shared thread pool."""
    return await run_in_threadpool(fn, *args)


async def switch(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on the kill switch's own threads, as the API's pause and resume run: a
    pause from the console never queues behind long pages or large actions."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=request.app.state.kill_switch)
