"""Agents, their charters and status, and the kill switch: pause and resume with a reason."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import Response

from watchkeeper.console.access import form, service_of, visitor
from watchkeeper.console.common import base, call, done, refusal, roles, switch
from watchkeeper.console.render import page
from watchkeeper.errors import Refused, WatchkeeperError
from watchkeeper.store.schema import audit_leaves

router = APIRouter()


# -- agents -----------------------------------------------------------------------------------


def _agents(service: Any) -> list[dict[str, Any]]:
    """Every agent registered or declared, with its charter and whether a pause holds it."""
    registered = {a["name"]: a for a in service.identities.agents()}
    names = sorted({*registered, *service.orders.agents})
    out = []
    for name in names:
        declared = service.orders.agents.get(name)
        pause = service.pauses.active(name)
        out.append({"name": name, "declared": declared, "registered": registered.get(name),
                    "pause": pause})  # fmt: skip
    return out


@router.get("/agents")
async def agents(request: Request) -> Response:
    """Agents: charter, owner, status."""
    who = await visitor(request)
    rows = await call(_agents, service_of(request))
    context = await base(request, who, "Agents")
    return page("agents.html", {**context, "rows": rows})


def _recent(service: Any, name: str) -> list[dict[str, Any]]:
    """The agent's latest actions and their decisions, newest first."""
    from watchkeeper.handoff import what

    with service.store.reading() as conn:
        size = service.log.size(conn)
        found = service.log.latest_about(conn, f"agent:{name}", size, 20)
        indexes = [i + 1 for i, _ in found]
        decided = {
            int(i): json.loads(e).get("decision") or {}
            for i, e in conn.execute(
                select(audit_leaves.c.idx, audit_leaves.c.event).where(
                    audit_leaves.c.idx.in_(indexes), audit_leaves.c.kind == "decision"
                )
            )
        }
    return [{"index": i, "what": what(e.get("action") or {}),
             "decision": decided.get(i + 1, {}).get("decision", "?"),
             "rules": decided.get(i + 1, {}).get("rules") or []} for i, e in found]  # fmt: skip


@router.get("/agents/{name}")
async def agent(name: str, request: Request) -> Response:
    """One agent: its charter, status, pause and resume, its recent actions and decisions."""
    who = await visitor(request)
    service = service_of(request)
    rows = [r for r in await call(_agents, service) if r["name"] == name]
    if not rows:
        return await refusal(request, who, Refused("not_found", f"no agent {name!r}"))
    recent = await call(_recent, service, name)
    context = await base(request, who, f"Agent {name}")
    return page("agent.html", {**context, "agent": rows[0], "recent": recent})


@router.post("/agents/{name}/pause")
async def pause_agent(name: str, request: Request) -> Response:
    """Pause the agent, with a reason."""
    who = await visitor(request)
    got = await form(request, who.session.csrf)
    service = service_of(request)
    try:
        roles(who, "approver", "admin")
        await switch(request, service.pause, "agent", name, got.get("reason", ""),
                     who.session.user)  # fmt: skip
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    return done(f"/agents/{quote(name, safe='')}")


@router.post("/pauses/{pause_id}/resume")
async def resume(pause_id: str, request: Request) -> Response:
    """Lift a pause, with a reason."""
    who = await visitor(request)
    got = await form(request, who.session.csrf)
    service = service_of(request)
    try:
        roles(who, "approver", "admin")
        await switch(request, service.resume, pause_id, got.get("reason", ""), who.session.user)
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    return done(got.get("back", "/") if got.get("back", "/").startswith("/agents/") else "/")


@router.post("/pause")
async def pause_all(request: Request) -> Response:
    """The kill switch for everything, with a reason and a confirmation."""
    who = await visitor(request)
    got = await form(request, who.session.csrf)
    service = service_of(request)
    try:
        roles(who, "approver", "admin")
        if got.get("confirm") != "on":
            raise Refused("invalid_request", "tick the confirmation: this stops every agent")
        await switch(request, service.pause, "all", "", got.get("reason", ""), who.session.user)
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    return done("/agents")
