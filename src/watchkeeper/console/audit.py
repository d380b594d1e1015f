"""The audit log: search, one event whole, export, and whether the newest checkpoint verifies."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from starlette.responses import Response, StreamingResponse

from watchkeeper.console.access import service_of, visitor
from watchkeeper.console.common import base, call, refusal, roles
from watchkeeper.console.render import HEADERS, page
from watchkeeper.errors import Refused, WatchkeeperError
from watchkeeper.store.schema import audit_leaves, audit_refs

router = APIRouter()

#: Events on one page of the audit log.
AUDIT_PAGE = 50
#: The largest index a database column holds (a larger one is no event, not an error).
MAX_INDEX = 2**63 - 1


# -- the audit log ----------------------------------------------------------------------------


def _events(service: Any, kind: str, subject: str, text: str, before: int) -> dict[str, Any]:
    """A page of events, newest first, kept by kind, subject and text."""
    log = service.log
    with service.store.reading() as conn:
        size = log.size(conn)
        query = select(audit_leaves.c.idx, audit_leaves.c.kind, audit_leaves.c.event)
        if subject:
            query = query.join(audit_refs, audit_refs.c.idx == audit_leaves.c.idx).where(
                audit_refs.c.subject == subject
            )
        if kind:
            query = query.where(audit_leaves.c.kind == kind)
        if text:
            query = query.where(audit_leaves.c.event.contains(text, autoescape=True))
        if before >= 0:
            query = query.where(audit_leaves.c.idx < before)
        rows = conn.execute(query.order_by(audit_leaves.c.idx.desc()).limit(AUDIT_PAGE)).all()
        kinds = sorted(conn.execute(select(func.distinct(audit_leaves.c.kind))).scalars())
    events = [{"index": int(i), "kind": k, "event": json.loads(e)} for i, k, e in rows]
    return {"size": size, "events": events, "kinds": kinds,
            "older": events[-1]["index"] if len(events) == AUDIT_PAGE else None}  # fmt: skip


def _checkpoint(service: Any) -> dict[str, Any]:
    """The newest checkpoint, checked against the stored tree with the server's key."""
    found = service.log.latest_checkpoint()
    if found is None:
        return {"size": 0, "status": "no checkpoint signed yet"}
    size, note = found
    signer = service.recorder.signer
    if signer is None:
        return {"size": size, "note": note, "status": "no key here to check it with"}
    problem = signer.verifier.check(note, size, service.log.root(size))
    return {"size": size, "note": note, "key": str(signer.verifier),
            "status": problem or "verified: signed by this server's key, and the stored tree "
                                 "has that root"}  # fmt: skip


@router.get("/audit")
async def audit(request: Request) -> Response:
    """Search and filter events; the newest checkpoint and whether it verifies."""
    who = await visitor(request)
    service = service_of(request)
    q = request.query_params
    try:
        roles(who, "auditor", "admin")
        before = int(q.get("before") or -1)
        if not -1 <= before <= MAX_INDEX:
            raise ValueError(before)
        found = await call(_events, service, q.get("kind", ""), q.get("subject", "").strip(),
                            q.get("q", ""), before)  # fmt: skip
        checkpoint = await call(_checkpoint, service)
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    except ValueError:  # ?before= that is not a number
        bad = Refused("invalid_request", f"before={q.get('before')!r} is not an event's index")
        return await refusal(request, who, bad)
    context = await base(request, who, "Audit log")
    filters = {k: q.get(k, "") for k in ("kind", "subject", "q")}
    return page("audit.html", {**context, **found, "checkpoint": checkpoint, "filters": filters})


@router.get("/audit/export")
async def audit_export(request: Request) -> Response:
    """The whole log as JSON Lines (index, kind, leaf hash, event), streamed."""
    who = await visitor(request)
    try:
        roles(who, "auditor", "admin")
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    log = service_of(request).log

    def lines() -> Any:
        for leaf in log.leaves(0, log.size()):
            yield json.dumps(leaf.to_json(), sort_keys=True) + "\n"

    headers = {**HEADERS, "Content-Disposition": 'attachment; filename="audit.jsonl"'}
    return StreamingResponse(lines(), media_type="application/jsonl", headers=headers)


@router.get("/audit/{index}")
async def audit_event(index: int, request: Request) -> Response:
    """One event whole, with its leaf hash."""
    who = await visitor(request)
    service = service_of(request)
    try:
        roles(who, "auditor", "admin")
        leaf = await call(service.log.leaf, index) if 0 <= index <= MAX_INDEX else None
        if leaf is None:
            raise Refused("not_found", f"no event {index} in the log")
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    context = await base(request, who, f"Event {index}")
    shown = leaf.to_json()
    return page("event.html", {**context, "leaf": shown,
                               "text": json.dumps(shown["event"], indent=2, sort_keys=True,
                                                  ensure_ascii=False)})  # fmt: skip
