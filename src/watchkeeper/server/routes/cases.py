"""Cases: a conversational agent hands a conversation to a person, who takes it and answers.

POST /v1/cases                      an agent opens a case (summary, why, asks_for,
                                    customer, tried, transcript, session)
GET  /v1/cases                      people list cases (the queue by default)
GET  /v1/cases/{id}                 the case (its agent, or people); ``?wait=S`` waits for
                                    its state to change
POST /v1/cases/{id}/claim           an approver takes it from the queue
POST /v1/cases/{id}/release         back to the queue, with notes
POST /v1/cases/{id}/resolve         dealt with by the person, with notes (required)
POST /v1/cases/{id}/hand-back       back to the agent, with notes it follows (required)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from watchkeeper.server.auth import Agent, Person, Viewer, person_with, service_of
from watchkeeper.server.bodies import read_object, text
from watchkeeper.store.identities import User

router = APIRouter()

#: Who works cases: approvers and admins.
Handler = Annotated[User, Depends(person_with("approver", "admin"))]


@router.post("/v1/cases")
async def open_case(request: Request, agent: Agent) -> dict[str, Any]:
    """An agent's case: {"summary", "why", "asks_for", "customer", "tried", "transcript",
    "session"}; ``summary`` and ``why`` are required. The answer carries the case and the
    agent's ``answer``."""
    body = await read_object(request)
    service = service_of(request)
    return await run_in_threadpool(service.open_case, agent, body)


@router.get("/v1/cases")
async def list_cases(
    request: Request,
    _person: Person,
    state: str = "active",
    limit: int = 100,
    agent: str = "",
    prefix: str = "",
) -> dict[str, Any]:
    """Cases for people: ``?state=active`` (open and claimed, oldest first: the queue),
    ``open``, ``claimed``, ``resolved``, ``handed_back`` or ``all``; ``?agent=`` one agent's;
    ``?prefix=`` those whose id starts with it."""
    service = service_of(request)
    found = await run_in_threadpool(service.recent_cases, state, limit, agent, prefix)
    return {"cases": found}


@router.get("/v1/cases/{case_id}")
async def get_case(
    case_id: str, request: Request, viewer: Viewer, wait: float = 0
) -> dict[str, Any]:
    """The case (its agent, with ``answer``; or people). With ``?wait=S`` the answer waits up
    to S seconds (at most 60) for the case's state to change."""
    service = service_of(request)
    return await service.case(case_id, viewer, wait=wait, offload=run_in_threadpool)


async def _step(request: Request, case_id: str, person: User, change: str) -> dict[str, Any]:
    body = await read_object(request, empty_ok=True)
    service = service_of(request)
    return await run_in_threadpool(
        service.change_case, case_id, person, change, text(body, "notes")
    )


@router.post("/v1/cases/{case_id}/claim")
async def claim(case_id: str, request: Request, person: Handler) -> dict[str, Any]:
    """Take the case from the queue (refused if someone else holds it)."""
    return await _step(request, case_id, person, "claim")


@router.post("/v1/cases/{case_id}/release")
async def release(case_id: str, request: Request, person: Handler) -> dict[str, Any]:
    """Put the case back in the queue: {"notes": "…"} (its holder, or an admin)."""
    return await _step(request, case_id, person, "release")


@router.post("/v1/cases/{case_id}/resolve")
async def resolve(case_id: str, request: Request, person: Handler) -> dict[str, Any]:
    """The person dealt with it: {"notes": "how"} (required)."""
    return await _step(request, case_id, person, "resolve")


@router.post("/v1/cases/{case_id}/hand-back")
async def hand_back(case_id: str, request: Request, person: Handler) -> dict[str, Any]:
    """Back to the agent: {"notes": "what it should do now"} (required)."""
    return await _step(request, case_id, person, "hand_back")
