"""Scorecards and incidents: the credit and the debit side by side, and reporting damage.

Charts are SVG drawn on the server (bars sized by attributes, coloured by the stylesheet): the
pages keep to the console's policy of no inline styles and no scripts of their own.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response

from watchkeeper.console.access import form, service_of, visitor
from watchkeeper.console.common import base, call, done, refusal, roles
from watchkeeper.console.render import page
from watchkeeper.errors import IncidentError, WatchkeeperError
from watchkeeper.orders.schema import SEVERITIES
from watchkeeper.wording import seconds

router = APIRouter()
PERIODS = ("1d", "7d", "30d", "90d")


@router.get("/scorecards")
async def scorecards(request: Request) -> Response:
    """Per agent, rule or approver over a period: the cards, bars and suggestions."""
    who = await visitor(request)
    by = request.query_params.get("by", "agent")
    since = request.query_params.get("since", "30d")
    service = service_of(request)
    try:
        period = seconds(since)
        if period is None or since not in PERIODS:
            raise IncidentError("invalid_request", f"since must be one of {', '.join(PERIODS)}")
        found = await call(service.scorecard, by, float(period))
        incidents = await call(service.recent_incidents, "open", 50)
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    context = await base(request, who, "Scorecards")
    return page("scorecards.html", {**context, "found": found, "by": by, "since": since,
                                    "periods": PERIODS, "incidents": incidents,
                                    "severities": SEVERITIES})  # fmt: skip


@router.post("/incidents")
async def open_incident(request: Request) -> Response:
    """Report damage from the console: action ids, a severity, what happened."""
    who = await visitor(request)
    got = await form(request, who.session.csrf)
    service = service_of(request)
    try:
        words = got.get("actions", "").replace(",", " ").split()
        if not words or not all(w.isdigit() for w in words):
            raise IncidentError("invalid_request",
                                f"actions {got.get('actions', '')!r}: give action ids (numbers), "
                                "separated by spaces or commas")  # fmt: skip
        severity, summary = got.get("severity", ""), got.get("summary", "")
        view = await call(service.open_incident, [int(w) for w in words], severity, summary,
                          who.session.user)  # fmt: skip
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    return done(f"/incidents/{quote(str(view['id']), safe='')}")


@router.get("/incidents/{incident_id}")
async def incident(incident_id: str, request: Request) -> Response:
    """One incident: its actions, agents, rules and approvers; closing it."""
    who = await visitor(request)
    service = service_of(request)
    try:
        view = await call(service.incident, incident_id)
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    context = await base(request, who, f"Incident {incident_id[:8]}")
    return page("incident.html", {**context, "view": view})


@router.post("/incidents/{incident_id}/close")
async def close_incident(incident_id: str, request: Request) -> Response:
    """Close an incident with what resolved it: approvers and admins."""
    who = await visitor(request)
    got = await form(request, who.session.csrf)
    service = service_of(request)
    try:
        roles(who, "approver", "admin")
        await call(service.close_incident, incident_id, got.get("resolution", ""),
                   who.session.user)  # fmt: skip
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    return done(f"/incidents/{quote(incident_id, safe='')}")
