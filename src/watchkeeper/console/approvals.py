"""The inbox of pending approvals, and each approval's page with the vote."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from watchkeeper.console.access import Visitor, form, service_of, visitor
from watchkeeper.console.common import base, call, done, refusal
from watchkeeper.console.render import page
from watchkeeper.errors import WatchkeeperError
from watchkeeper.terminal import says_something

router = APIRouter()


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
    rows = await call(service.recent_approvals, "pending", 500)
    context = await base(request, who, "Inbox")
    return page("inbox.html", {**context, **_inbox_rows(request, rows)})


@router.get("/inbox/rows")
async def inbox_rows(request: Request) -> Response:
    """The inbox's table alone, for its refresh."""
    who = await visitor(request)
    rows = await call(service_of(request).recent_approvals, "pending", 500)
    return page("inbox_rows.html", {"who": who, **_inbox_rows(request, rows)})


@router.get("/banner")
async def banner(request: Request) -> Response:
    """The pause banner alone, for its refresh."""
    who = await visitor(request)
    return page("banner.html", await base(request, who, ""))


# -- approvals --------------------------------------------------------------------------------


async def _approval_page(
    request: Request, who: Visitor, approval_id: str, problem: str = "", comment: str = ""
) -> Response:
    """The approval's page; with ``problem``, the vote refused and why, the comment kept."""
    service = service_of(request)
    try:
        view = await service.approval(approval_id, who.session.user, offload=run_in_threadpool)
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    context = await base(request, who, f"Approval {approval_id[:8]}")
    return page("approval.html", {**context, "view": view, "packet": view.get("handoff") or {},
                                  "message": problem, "comment": comment},
                status=422 if problem else 200)  # fmt: skip


@router.get("/approvals/{approval_id}")
async def approval(approval_id: str, request: Request) -> Response:
    """The whole packet, and the vote."""
    return await _approval_page(request, await visitor(request), approval_id)


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
    elif choice == "deny" and not says_something(comment):
        problem = "a denial needs a comment: the agent is told what you said, and follows it"
    elif glass and (got.get("confirm") != "on" or not says_something(comment)):
        problem = ("break-glass needs the confirmation ticked and a reason in the comment: it "
                   "approves alone and is told to everyone")  # fmt: skip
    if problem is not None:
        return await _approval_page(request, who, approval_id, problem, comment)
    service = service_of(request)
    try:
        await call(service.vote, approval_id, who.session.user, choice, comment, glass)
    except WatchkeeperError as exc:
        return await refusal(request, who, exc)
    return done(f"/approvals/{quote(approval_id, safe='')}")
