"""The API's endpoints, a module per resource; each calls the service and nothing below it."""

from __future__ import annotations

from fastapi import APIRouter

from watchkeeper.server.routes import (
    actions,
    approvals,
    audit,
    cases,
    incidents,
    operations,
    pauses,
    watch,
)

#: Every route of the API, in the order the contract lists them.
ROUTERS: tuple[APIRouter, ...] = (
    actions.router,
    approvals.router,
    cases.router,
    pauses.router,
    watch.router,
    incidents.router,
    audit.router,
    operations.router,
)
