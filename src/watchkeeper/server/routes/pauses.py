"""The kill switch: people pause everything, an agent or a session, and resume with a reason.

    POST   /v1/pause          pause everything, an agent or a session, saying why
    GET    /v1/pause          pauses in force (``?all=true``: resumed ones too)
    DELETE /v1/pause/{id}     resume, with a reason

Pausing and resuming run on threads of their own (``app.state.kill_switch``): however busy the
shared pool is (long lists, large actions), a pause never queues behind them.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from watchkeeper.server.auth import Person, Switcher, service_of
from watchkeeper.server.bodies import read_object, text

router = APIRouter()


@router.post("/v1/pause")
async def pause(request: Request, person: Switcher) -> dict[str, Any]:
    """The kill switch: {"scope": "all"|"agent"|"session", "target": "…", "reason": "…"}.
    Pending approvals in scope are cancelled and unused grants revoked."""
    body = await read_object(request)
    scope, target, reason = text(body, "scope"), text(body, "target"), text(body, "reason")
    service = service_of(request)
    return await anyio.to_thread.run_sync(
        service.pause, scope, target, reason, person, limiter=request.app.state.kill_switch
    )


@router.get("/v1/pause")
async def paused(request: Request, _person: Person, all: bool = False) -> dict[str, Any]:
    """Pauses in force (with ``?all=true``, resumed ones too), for people."""
    service = service_of(request)
    return {"pauses": await run_in_threadpool(service.pauses_in_force, all)}


@router.delete("/v1/pause/{pause_id}")
async def resume(pause_id: str, request: Request, person: Switcher) -> dict[str, Any]:
    """Lift a pause: a person, with {"reason": "…"} (or ``?reason=``)."""
    body = await read_object(request, empty_ok=True)
    reason = text(body, "reason") or request.query_params.get("reason") or ""
    service = service_of(request)
    return await anyio.to_thread.run_sync(
        service.resume, pause_id, reason, person, limiter=request.app.state.kill_switch
    )
