"""Cases: the queue, and each case with its claim, hand-back, resolve and release."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from watchkeeper.console.access import form, service_of, visitor
from watchkeeper.console.common import base, call, done, refusal, roles
from watchkeeper.console.render import page
from watchkeeper.errors import Refused, WatchkeeperError

router = APIRouter()


# -- cases ------------------------------------------------------------------------------------


@router.get("/cases")
async def cases(request: Request) -> Response:
    """The queue of cases (or those in one state)."""
    who = await visitor(request)
    state = request.query_params.get("state", "active")
    service = service_of(request)
    try:
        rows = await call(service.recent_cases, state, 200)
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    context = await base(request, who, "Cases")
    return page("cases.html", {**context, "rows": rows, "state": state})


@router.get("/cases/{case_id}")
async def case(case_id: str, request: Request) -> Response:
    """The case whole, and what the person may do with it."""
    who = await visitor(request)
    service = service_of(request)
    try:
        view = await service.case(case_id, who.session.user, offload=run_in_threadpool)
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    context = await base(request, who, f"Case {case_id[:8]}")
    return page("case.html", {**context, "view": view})


@router.post("/cases/{case_id}/{change}")
async def case_step(case_id: str, change: str, request: Request) -> Response:
    """Claim, release, resolve or hand back."""
    who = await visitor(request)
    got = await form(request, who.session.csrf)
    steps = {"claim": "claim", "release": "release", "resolve": "resolve", "hand-back": "hand_back"}
    service = service_of(request)
    try:
        roles(who, "approver", "admin")
        if change not in steps:
            raise Refused("not_found", f"there is no step {change!r} for a case")
        await call(service.change_case, case_id, who.session.user, steps[change],
                    got.get("notes", ""))  # fmt: skip
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    return done(f"/cases/{quote(case_id, safe='')}")
