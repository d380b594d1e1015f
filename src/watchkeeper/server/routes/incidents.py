"""Incidents, and the scorecards they debit.

    POST /v1/incidents                {"actions": [412, 415], "severity": "high", "summary": "…"}
    GET  /v1/incidents                open ones, newest first (``?state=closed|all``)
    GET  /v1/incidents/{id}           one, with its actions, agents, rules and approvers
    POST /v1/incidents/{id}/close     {"resolution": "…"}: approvers and admins
    GET  /v1/scorecard                ``?by=agent|rule|approver&since=30d&name=&rubber_stamp=10s``

Any person may open one: whoever saw the damage says so. Closing takes an approver or an
admin, with what resolved it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from watchkeeper.errors import IncidentError
from watchkeeper.server.auth import Person, Switcher, service_of
from watchkeeper.server.bodies import read_object, text
from watchkeeper.wording import seconds

router = APIRouter()


@router.post("/v1/incidents")
async def open_incident(request: Request, person: Person) -> dict[str, Any]:
    """Open an incident tied to actions (their audit indexes, as decisions gave them)."""
    body = await read_object(request)
    actions = body.get("actions")
    if not isinstance(actions, list) or not all(
        isinstance(a, int) and not isinstance(a, bool) for a in actions
    ):
        raise IncidentError(
            "invalid_request",
            f"actions must be a list of action ids (integers), got {str(actions)[:100]}; "
            'send {"actions": [412]}',
        )
    service = service_of(request)
    return await run_in_threadpool(service.open_incident, actions, text(body, "severity"),
                                   text(body, "summary"), person)  # fmt: skip


@router.get("/v1/incidents")
async def incidents(
    request: Request, _person: Person, state: str = "open", limit: int = 100, prefix: str = ""
) -> dict[str, Any]:
    """Incidents for people, newest first."""
    service = service_of(request)
    found = await run_in_threadpool(service.recent_incidents, state, limit, prefix)
    return {"incidents": found}


@router.get("/v1/incidents/{incident_id}")
async def incident(incident_id: str, request: Request, _person: Person) -> dict[str, Any]:
    """One incident, with its actions."""
    service = service_of(request)
    return await run_in_threadpool(service.incident, incident_id)


@router.get("/v1/scorecard")
async def scorecard(
    request: Request,
    _person: Person,
    by: str = "agent",
    since: str = "30d",
    name: str = "",
    rubber_stamp: str = "10s",
) -> dict[str, Any]:
    """The credit and the debit per agent, rule or approver: see docs/watch.md."""
    period, stamp = seconds(since), seconds(rubber_stamp)
    if period is None or stamp is None or period > 100 * 365 * 86400:
        raise IncidentError("invalid_request",
                            f"since={since!r}, rubber_stamp={rubber_stamp!r}: write durations "
                            "like 30d, 12h or 10s (since: at most 100 years)")  # fmt: skip
    service = service_of(request)
    return await run_in_threadpool(service.scorecard, by, float(period), name, float(stamp))


@router.post("/v1/incidents/{incident_id}/close")
async def close_incident(incident_id: str, request: Request, person: Switcher) -> dict[str, Any]:
    """Close an incident with {"resolution": "…"}."""
    body = await read_object(request)
    service = service_of(request)
    return await run_in_threadpool(service.close_incident, incident_id,
                                   text(body, "resolution"), person)  # fmt: skip
