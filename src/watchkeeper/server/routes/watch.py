"""What the watch rules raised, and the tightenings they put in force.

    GET    /v1/alerts               alerts, newest first (``?rule=``, ``?limit=``)
    GET    /v1/tightenings          tightenings in force (``?all=true``: cleared ones too)
    DELETE /v1/tightenings/{id}     a person clears one, with a reason

Clearing runs on the kill switch's threads, like resuming a pause: however busy the shared
pool is, it never queues behind other work.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from watchkeeper.server.auth import Person, Switcher, service_of
from watchkeeper.server.bodies import read_object, text

router = APIRouter()


@router.get("/v1/alerts")
async def alerts(request: Request, _person: Person, rule: str = "", limit: int = 100) -> Any:
    """Alerts raised by watch rules, newest first, for people."""
    service = service_of(request)
    return {"alerts": await run_in_threadpool(service.alerts, rule, limit)}


@router.get("/v1/tightenings")
async def tightenings(request: Request, _person: Person, all: bool = False) -> Any:
    """Tightenings in force (with ``?all=true``, cleared ones too), newest first."""
    service = service_of(request)
    return {"tightenings": await run_in_threadpool(service.tightenings_in_force, all)}


@router.delete("/v1/tightenings/{tightening_id}")
async def clear(tightening_id: str, request: Request, person: Switcher) -> dict[str, Any]:
    """Clear a tightening: a person, with {"reason": "…"} (or ``?reason=``)."""
    body = await read_object(request, empty_ok=True)
    reason = text(body, "reason") or request.query_params.get("reason") or ""
    service = service_of(request)
    return await anyio.to_thread.run_sync(
        service.clear_tightening, tightening_id, reason, person,
        limiter=request.app.state.kill_switch,
    )  # fmt: skip
