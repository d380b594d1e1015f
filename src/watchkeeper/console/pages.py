"""The console's pages: the inbox, approvals, cases, the audit log, agents and the standing
orders, each with the pause banner.

Every page reads through the service, as the API does; every form is checked by
:func:`~watchkeeper.console.access.form` and acts through the service, so a vote cast here is
judged, recorded and announced exactly as one cast with ``watchkeeper approvals approve``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response, StreamingResponse

from watchkeeper.console.access import Visitor, form, service_of, visitor
from watchkeeper.console.render import HEADERS, page
from watchkeeper.errors import Refused, WatchkeeperError
from watchkeeper.store.schema import audit_leaves, audit_refs

router = APIRouter()

T = TypeVar("T")
#: Events on one page of the audit log.
AUDIT_PAGE = 50


async def _base(request: Request, who: Visitor, title: str) -> dict[str, Any]:
    """What every page shows: who is signed in, the forms' token, the pauses in force."""
    service = service_of(request)
    pauses = await run_in_threadpool(service.pauses_in_force)
    return {"title": title, "who": who, "csrf": who.session.csrf, "pauses": pauses,
            "path": request.url.path}  # fmt: skip


def _done(to: str) -> Response:
    return RedirectResponse(to, status_code=303, headers=HEADERS)


async def _refusal(request: Request, who: Visitor, exc: WatchkeeperError) -> Response:
    status = 404 if isinstance(exc, Refused) and exc.code == "not_found" else 409
    context = await _base(request, who, "Not done")
    return page("error.html", {**context, "message": str(exc)}, status=status)


def _roles(who: Visitor, *roles: str) -> None:
    if who.session.user.role not in roles:
        raise Refused("forbidden", f"this page needs the role {' or '.join(roles)}; you are "
                                   f"{who.session.user.role}")  # fmt: skip


async def _call(fn: Callable[..., T], *args: Any) -> T:
    return await run_in_threadpool(fn, *args)


# -- the inbox --------------------------------------------------------------------------------


def _inbox_rows(request: Request, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Pending approvals, soonest deadline first, kept by the filters in the query."""
    wanted = {k: request.query_params.get(k, "") for k in ("environment", "agent", "rule")}
    choices = {
        "environment": sorted({r.get("environment") or "?" for r in rows}),
        "agent": sorted({r["agent"] for r in rows}),
        "rule": sorted({q.get("rule") for r in rows for q in r.get("required") or ()
                        if q.get("rule")}),
    }  # fmt: skip
    kept = [
        r for r in rows
        if (not wanted["environment"] or r.get("environment") == wanted["environment"])
        and (not wanted["agent"] or r["agent"] == wanted["agent"])
        and (not wanted["rule"] or any(q.get("rule") == wanted["rule"]
                                       for q in r.get("required") or ()))
    ]  # fmt: skip
    kept.sort(key=lambda r: (r.get("expires_at") is None, r.get("expires_at") or 0))
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in wanted.items() if v)
    return {"rows": kept, "wanted": wanted, "choices": choices, "query": query,
            "total": len(rows)}  # fmt: skip


@router.get("/")
async def inbox(request: Request) -> Response:
    """Pending approvals by deadline, with countdowns and the quorum's progress."""
    who = await visitor(request)
    service = service_of(request)
    rows = await _call(service.recent_approvals, "pending", 500)
    context = await _base(request, who, "Inbox")
    return page("inbox.html", {**context, **_inbox_rows(request, rows)})


@router.get("/inbox/rows")
async def inbox_rows(request: Request) -> Response:
    """The inbox's table alone, for its refresh."""
    who = await visitor(request)
    rows = await _call(service_of(request).recent_approvals, "pending", 500)
    return page("inbox_rows.html", {"who": who, **_inbox_rows(request, rows)})


@router.get("/banner")
async def banner(request: Request) -> Response:
    """The pause banner alone, for its refresh."""
    who = await visitor(request)
    return page("banner.html", await _base(request, who, ""))


# -- approvals --------------------------------------------------------------------------------


@router.get("/approvals/{approval_id}")
async def approval(approval_id: str, request: Request) -> Response:
    """The whole packet, and the vote."""
    who = await visitor(request)
    service = service_of(request)
    try:
        view = await service.approval(approval_id, who.session.user, offload=run_in_threadpool)
    except WatchkeeperError as exc:
        return await _refusal(request, who, exc)
    context = await _base(request, who, f"Approval {approval_id[:8]}")
    return page("approval.html", {**context, "view": view, "packet": view.get("handoff") or {},
                                  "message": request.query_params.get("said", "")})  # fmt: skip


@router.post("/approvals/{approval_id}/vote")
async def vote(approval_id: str, request: Request) -> Response:
    """Approve or deny, with a comment (a denial needs one); break-glass needs its box ticked
    and a reason."""
    who = await visitor(request)
    got = await form(request, who.session.csrf)
    choice, comment = got.get("vote", ""), got.get("comment", "").strip()
    glass = got.get("break_glass") == "on"
    problem = None
    if choice not in ("approve", "deny"):
        problem = "choose approve or deny"
    elif choice == "deny" and not comment:
        problem = "a denial needs a comment: the agent is told what you said, and follows it"
    elif glass and (got.get("confirm") != "on" or not comment):
        problem = ("break-glass needs the confirmation ticked and a reason in the comment: it "
                   "approves alone and is told to everyone")  # fmt: skip
    if problem is not None:
        return _done(f"/approvals/{quote(approval_id, safe='')}?said={quote(problem)}")
    service = service_of(request)
    try:
        await _call(service.vote, approval_id, who.session.user, choice, comment, glass)
    except WatchkeeperError as exc:
        return await _refusal(request, who, exc)
    return _done(f"/approvals/{quote(approval_id, safe='')}")


# -- cases ------------------------------------------------------------------------------------


@router.get("/cases")
async def cases(request: Request) -> Response:
    """The queue of cases (or those in one state)."""
    who = await visitor(request)
    state = request.query_params.get("state", "active")
    service = service_of(request)
    try:
        rows = await _call(service.recent_cases, state, 200)
    except WatchkeeperError as exc:
        return await _refusal(request, who, exc)
    context = await _base(request, who, "Cases")
    return page("cases.html", {**context, "rows": rows, "state": state})


@router.get("/cases/{case_id}")
async def case(case_id: str, request: Request) -> Response:
    """The case whole, and what the person may do with it."""
    who = await visitor(request)
    service = service_of(request)
    try:
        view = await service.case(case_id, who.session.user, offload=run_in_threadpool)
    except WatchkeeperError as exc:
        return await _refusal(request, who, exc)
    context = await _base(request, who, f"Case {case_id[:8]}")
    return page("case.html", {**context, "view": view})


@router.post("/cases/{case_id}/{change}")
async def case_step(case_id: str, change: str, request: Request) -> Response:
    """Claim, release, resolve or hand back."""
    who = await visitor(request)
    got = await form(request, who.session.csrf)
    steps = {"claim": "claim", "release": "release", "resolve": "resolve", "hand-back": "hand_back"}
    service = service_of(request)
    try:
        _roles(who, "approver", "admin")
        if change not in steps:
            raise Refused("not_found", f"there is no step {change!r} for a case")
        await _call(service.change_case, case_id, who.session.user, steps[change],
                    got.get("notes", ""))  # fmt: skip
    except WatchkeeperError as exc:
        return await _refusal(request, who, exc)
    return _done(f"/cases/{quote(case_id, safe='')}")


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
        _roles(who, "auditor", "admin")
        before = int(q.get("before") or -1)
        found = await _call(_events, service, q.get("kind", ""), q.get("subject", "").strip(),
                            q.get("q", ""), before)  # fmt: skip
        checkpoint = await _call(_checkpoint, service)
    except (WatchkeeperError, ValueError) as exc:
        return await _refusal(request, who, WatchkeeperError(str(exc)))
    context = await _base(request, who, "Audit log")
    filters = {k: q.get(k, "") for k in ("kind", "subject", "q")}
    return page("audit.html", {**context, **found, "checkpoint": checkpoint, "filters": filters})


@router.get("/audit/export")
async def audit_export(request: Request) -> Response:
    """The whole log as JSON Lines (index, kind, leaf hash, event), streamed."""
    who = await visitor(request)
    try:
        _roles(who, "auditor", "admin")
    except WatchkeeperError as exc:
        return await _refusal(request, who, exc)
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
        _roles(who, "auditor", "admin")
        leaf = await _call(service.log.leaf, index)
        if leaf is None:
            raise Refused("not_found", f"no event {index} in the log")
    except WatchkeeperError as exc:
        return await _refusal(request, who, exc)
    context = await _base(request, who, f"Event {index}")
    shown = leaf.to_json()
    return page("event.html", {**context, "leaf": shown,
                               "text": json.dumps(shown["event"], indent=2, sort_keys=True,
                                                  ensure_ascii=False)})  # fmt: skip


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
    rows = await _call(_agents, service_of(request))
    context = await _base(request, who, "Agents")
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
    rows = [r for r in await _call(_agents, service) if r["name"] == name]
    if not rows:
        return await _refusal(request, who, Refused("not_found", f"no agent {name!r}"))
    recent = await _call(_recent, service, name)
    context = await _base(request, who, f"Agent {name}")
    return page("agent.html", {**context, "agent": rows[0], "recent": recent})


@router.post("/agents/{name}/pause")
async def pause_agent(name: str, request: Request) -> Response:
    """Pause the agent, with a reason."""
    who = await visitor(request)
    got = await form(request, who.session.csrf)
    service = service_of(request)
    try:
        _roles(who, "approver", "admin")
        await _call(service.pause, "agent", name, got.get("reason", ""), who.session.user)
    except WatchkeeperError as exc:
        return await _refusal(request, who, exc)
    return _done(f"/agents/{quote(name, safe='')}")


@router.post("/pauses/{pause_id}/resume")
async def resume(pause_id: str, request: Request) -> Response:
    """Lift a pause, with a reason."""
    who = await visitor(request)
    got = await form(request, who.session.csrf)
    service = service_of(request)
    try:
        _roles(who, "approver", "admin")
        await _call(service.resume, pause_id, got.get("reason", ""), who.session.user)
    except WatchkeeperError as exc:
        return await _refusal(request, who, exc)
    return _done(got.get("back", "/") if got.get("back", "/").startswith("/agents/") else "/")


@router.post("/pause")
async def pause_all(request: Request) -> Response:
    """The kill switch for everything, with a reason and a confirmation."""
    who = await visitor(request)
    got = await form(request, who.session.csrf)
    service = service_of(request)
    try:
        _roles(who, "approver", "admin")
        if got.get("confirm") != "on":
            raise Refused("invalid_request", "tick the confirmation: this stops every agent")
        await _call(service.pause, "all", "", got.get("reason", ""), who.session.user)
    except WatchkeeperError as exc:
        return await _refusal(request, who, exc)
    return _done("/agents")


# -- the standing orders ----------------------------------------------------------------------


def _orders(service: Any) -> dict[str, Any]:
    """Every rule with its owner, how often it decided and when last, and the latest recorded
    test run of these orders."""
    orders = service.orders
    with service.store.reading() as conn:
        counted = conn.execute(
            select(audit_refs.c.subject, func.count(), func.max(audit_refs.c.idx))
            .where(audit_refs.c.subject.startswith("rule:"))
            .group_by(audit_refs.c.subject)
        ).all()  # fmt: skip
        counts = {str(s): (int(n), int(m)) for s, n, m in counted}
        runs = conn.execute(
            select(audit_leaves.c.idx, audit_leaves.c.event)
            .where(audit_leaves.c.kind == "test_run")
            .order_by(audit_leaves.c.idx.desc()).limit(20)
        ).all()  # fmt: skip
    tests = [(int(i), json.loads(e)) for i, e in runs]
    latest = next((t for t in tests if t[1].get("orders_digest") == orders.digest), None)
    rules = []
    for rule in orders.rules:
        matches, last = counts.get(f"rule:{rule.name}", (0, None))
        rules.append({"rule": rule, "matches": matches, "last": last})
    return {"rules": rules, "digest": orders.digest, "test": latest,
            "other_tests": [t for t in tests if t is not latest][:5]}  # fmt: skip


@router.get("/orders")
async def standing_orders(request: Request) -> Response:
    """The standing orders in force: every rule, its owner, its matches, the last test run."""
    who = await visitor(request)
    found = await _call(_orders, service_of(request))
    context = await _base(request, who, "Standing orders")
    return page("orders.html", {**context, **found})
