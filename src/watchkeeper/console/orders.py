"""The standing orders in force: every rule, its owner, its matches, the last test run."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from starlette.responses import Response

from watchkeeper.console.access import service_of, visitor
from watchkeeper.console.common import base, call
from watchkeeper.console.render import page
from watchkeeper.store.schema import audit_leaves, audit_refs

router = APIRouter()


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
    found = await call(_orders, service_of(request))
    context = await base(request, who, "Standing orders")
    return page("orders.html", {**context, **found})
