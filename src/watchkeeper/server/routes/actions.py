"""Actions: agents submit them and report how they went.

POST /v1/actions[?hold=false]    the decision, recorded first (for `ask`, with the approval
                                 it opened; with hold=false, none is opened)
POST /v1/actions/{id}/outcome    the agent reports what happened when it ran
GET  /v1/charter                 what the orders let the asking agent do (doors that offer
                                 tools, such as the MCP gateway, show it only those)
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from watchkeeper import strict_json
from watchkeeper.errors import Refused
from watchkeeper.server import logs
from watchkeeper.server.auth import Agent, bearer, service_of, submitting_agent
from watchkeeper.server.bodies import read_object, text

#: Actions up to this size are decided on the event loop; larger ones in a worker thread.
INLINE_BYTES = 16 * 1024

router = APIRouter()


@router.post("/v1/actions")
async def submit(request: Request) -> Response:
    """Decide an action; it and its decision are in the audit log before the answer."""
    agent = await submitting_agent(request)  # who asks, before the body is read
    service = service_of(request)
    body = await request.body()  # its size was checked as it arrived (Guard)
    # Strict: a key sent twice would be decided on one copy and run with the other. A large
    # body is read in a thread: the event loop serves the kill switch meanwhile.
    what = "the body (an action)"
    inline = len(body) <= INLINE_BYTES
    if inline:
        action = strict_json.loads_object(body, what=what)
    else:
        action = await run_in_threadpool(lambda: strict_json.loads_object(body, what=what))
    session = action.get("session") if isinstance(action.get("session"), str) else None
    started = time.perf_counter()
    # Small actions are decided on the event loop (a fraction of a millisecond, and no thread
    # hand-offs); large ones, such as big plans, in a thread. Either way the recording is
    # awaited, not waited for by a parked thread.
    done = await service.submit_async(
        action,
        agent=agent,  # the key says who is asking, whatever the body says
        credential=bearer(request),
        session=session,
        inline=inline,
        offload=run_in_threadpool,
        # ?hold=false: decided and recorded, and an `ask` opens no approval (a door that looks
        # before it prepares what people will read, such as the MCP gateway's dry runs).
        open_approval=_hold(request),
    )
    metrics = request.app.state.metrics
    metrics.latency.observe(time.perf_counter() - started)
    metrics.decisions.labels(done.decision.decision).inc()
    if logs.decisions.isEnabledFor(logging.INFO):
        tool = action.get("tool")
        fields = {"action_id": done.action_id, "tool": tool if isinstance(tool, str) else "?",
                  "decision": done.decision.decision, "rules": ",".join(done.decision.rules) or "-",
                  "approval_id": done.approval_id or "-", "who": f"agent {agent}"}  # fmt: skip
        logs.decisions.info("decision", extra=fields)
    # The answer is plain JSON already: encoded once, not walked again by the framework.
    return Response(json.dumps(done.to_json()), media_type="application/json")


@router.post("/v1/actions/{action_id}/outcome")
async def outcome(action_id: int, request: Request, agent: Agent) -> dict[str, Any]:
    """The agent that ran an action reports what happened:
    {"status": "succeeded"|"failed"|"reverted"|"unknown", "detail": "…"}."""
    body = await read_object(request)
    status, detail = text(body, "status"), text(body, "detail")
    if not 0 <= action_id < 2**63 - 1:  # the store reads the next index too
        raise Refused("not_found", f"no action {action_id}")
    service = service_of(request)
    return await run_in_threadpool(service.outcome, action_id, agent, status, detail)


@router.get("/v1/charter")
async def charter(request: Request, agent: Agent) -> dict[str, Any]:
    """The asking agent's charter under the orders in force: ``null`` in a field means that
    field is not restricted (and ``declared`` is false for an agent the orders do not name)."""
    declared = service_of(request).orders.agents.get(agent)
    c = declared.charter if declared is not None else None

    def listed(values: frozenset[str] | None) -> list[str] | None:
        return sorted(values) if values is not None else None

    return {
        "agent": agent,
        "declared": declared is not None,
        "tools": listed(c.tools) if c else None,
        "environments": listed(c.environments) if c else None,
        "intents": listed(c.intents) if c else None,
    }


def _hold(request: Request) -> bool:
    """Whether an ``ask`` opens (or joins) an approval: yes, unless ``?hold=false``."""
    given = request.query_params.get("hold", "true")
    if given not in ("true", "false"):
        raise Refused(
            "invalid_request", f"hold={given!r}: give hold=true (the default) or hold=false"
        )
    return given == "true"
