"""Approvals: people list them and vote; the requesting agent waits on its own and consumes the
grant.

    GET  /v1/approvals                  people list approvals (pending by default)
    GET  /v1/approvals/{id}             its state and votes (the requesting agent, or people)
    POST /v1/approvals/{id}/votes       people vote: approve or deny, once each
    POST /v1/approvals/{id}/consume     the requesting agent takes its grant, once
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from watchkeeper.errors import Refused
from watchkeeper.server.auth import Agent, Person, Viewer, service_of
from watchkeeper.server.bodies import read_object, text

router = APIRouter()


@router.get("/v1/approvals")
async def list_approvals(
    request: Request, _person: Person, state: str = "pending", limit: int = 100, prefix: str = ""
) -> dict[str, Any]:
    """Approvals for people, newest first: ``?state=pending`` (the default), ``approved``,
    ``denied``, ``expired``, ``cancelled`` or ``all``; ``?prefix=`` keeps those whose id starts
    with it."""
    service = service_of(request)
    found = await run_in_threadpool(service.recent_approvals, state, limit, prefix)
    return {"approvals": found}


@router.get("/v1/approvals/{approval_id}")
async def get_approval(
    approval_id: str, request: Request, viewer: Viewer, wait: float = 0
) -> dict[str, Any]:
    """The approval's state and votes (the requesting agent, or people). With ``?wait=S`` the
    answer waits, up to S seconds (at most 60), for the state to leave ``pending``; each caller
    may hold ``max_waits_per_agent`` waits at once (429 beyond)."""
    service = service_of(request)
    return await service.approval(approval_id, viewer, wait=wait, offload=run_in_threadpool)


@router.post("/v1/approvals/{approval_id}/votes")
async def vote(approval_id: str, request: Request, person: Person) -> dict[str, Any]:
    """A person's vote: {"vote": "approve"|"deny", "comment": "…", "break_glass": false}."""
    body = await read_object(request)
    glass = body.get("break_glass", False)
    if not isinstance(glass, bool):
        raise Refused("invalid_request", f"break_glass must be true or false, not {glass!r}")
    choice, comment = text(body, "vote"), text(body, "comment")
    service = service_of(request)
    return await run_in_threadpool(service.vote, approval_id, person, choice, comment, glass)


@router.post("/v1/approvals/{approval_id}/consume")
async def consume(approval_id: str, request: Request, agent: Agent) -> dict[str, Any]:
    """The requesting agent takes its grant, once: {"digest": "sha256:…"}."""
    body = await read_object(request)
    service = service_of(request)
    grant = await run_in_threadpool(service.consume, approval_id, agent, text(body, "digest"))
    return {
        "approval_id": grant.approval_id,
        "digest": grant.digest,
        "granted": True,
        "action_id": grant.action_index,
    }
