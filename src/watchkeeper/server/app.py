"""The HTTP API (``watchkeeper serve``): routes over the service, stateless, every replica on one
database.

    POST /v1/actions                    an agent submits an action: the decision, recorded first
                                        (for `ask`, with the approval it opened)
    GET  /v1/approvals                  people list approvals (pending by default)
    GET  /v1/approvals/{id}             its state and votes (the requesting agent, or people)
    POST /v1/approvals/{id}/votes       people vote: approve or deny, once each
    POST /v1/approvals/{id}/consume     the requesting agent takes its grant, once
    POST /v1/actions/{id}/outcome       the agent reports what happened when it ran
    POST /v1/cases, GET /v1/cases[/{id}], POST /v1/cases/{id}/claim|release|resolve|hand-back
                                        an agent hands a conversation to a person, who takes
                                        it and resolves it or hands it back with notes
    POST /v1/pause, DELETE /v1/pause/{id}, GET /v1/pause
                                        the kill switch: people pause everything, an agent or
                                        a session, and resume with a reason
    GET  /v1/alerts, GET /v1/tightenings, DELETE /v1/tightenings/{id}
                                        what watch rules raised; people clear a tightening
    POST /v1/incidents, GET /v1/incidents[/{id}], POST /v1/incidents/{id}/close
                                        damage tied to the actions that caused it
    GET  /v1/audit                      auditors and admins read the audit log
    GET  /healthz         liveness and the database
    GET  /metrics         Prometheus
    GET  /openapi.json    the contract

This module assembles: the service on ``app.state``, the routes (:mod:`watchkeeper.server.routes`,
one module per resource), authentication (:mod:`watchkeeper.server.auth`), the one error handler
(:mod:`watchkeeper.server.errors`) and the guards around every request. Credentials are bearer
tokens: an agent's API key or a person's token. Every error has one shape::

    {"error": {"code": "unauthorized", "message": "…"}}
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from watchkeeper import __version__
from watchkeeper.config import Settings
from watchkeeper.orders.model import StandingOrders
from watchkeeper.server import errors
from watchkeeper.server.guard import Guard
from watchkeeper.server.logs import AccessLog
from watchkeeper.server.routes import ROUTERS
from watchkeeper.server.routes.operations import Metrics
from watchkeeper.service import MAX_WAIT, Service
from watchkeeper.store.database import Store

__all__ = ["MAX_WAIT", "create_app", "serve"]

#: Room for the JSON around an action's input, on top of the input limit.
_ENVELOPE = 64 * 1024
#: Threads of the kill switch's own (pause, resume, health), apart from the shared pool.
_KILL_SWITCH_THREADS = 4


def create_app(orders: StandingOrders, store: Store, settings: Settings | None = None) -> FastAPI:
    """The application, deciding under ``orders`` and recording in ``store`` (the caller's:
    it stays open when the application stops)."""
    return serve(Service.open(orders, store, settings, group_commit=True))


def serve(service: Service) -> FastAPI:
    """The application over ``service``, which it starts and closes with its lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.start()
        yield
        # Stopping: what is being recorded commits, listeners stop.
        await run_in_threadpool(service.close)

    app = FastAPI(
        lifespan=lifespan,
        # The contract is /openapi.json; no pages that load scripts from elsewhere, and a path
        # with a trailing slash is not found (in the error shape), not redirected.
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
        title="watchkeeper",
        version=__version__,
        description="Decisions for AI agents' actions, recorded in a tamper-evident log.",
    )
    # The routes themselves, not their routers: FastAPI (0.165) keeps an included router as a
    # nested one and walks it again on every request to match and dispatch, a cost on the
    # decision path that buys nothing here (no prefixes, tags, router dependencies or
    # dependency overrides).
    for router in ROUTERS:
        app.router.routes.extend(router.routes)
    _console(app, service)
    for kind in errors.HANDLED:
        app.add_exception_handler(kind, errors.handler)
    metrics = Metrics.create()
    service.waits.on_change = metrics.waits.inc
    app.state.service = service
    app.state.metrics = metrics
    app.state.kill_switch = anyio.CapacityLimiter(_KILL_SWITCH_THREADS)
    #: The key that signs checkpoints, as auditors check them (public: logged at start).
    signer = service.recorder.signer
    app.state.verifier = str(signer.verifier) if signer else None
    app.add_middleware(Guard, limit=service.settings.max_input_bytes + _ENVELOPE)
    app.add_middleware(AccessLog)  # outermost: every request gets its line, refused ones too
    return app


def _console(app: FastAPI, service: Service) -> None:
    """The web console at ``/`` (:mod:`watchkeeper.console`): its pages after the API's routes,
    its static files, its sessions and the answers to its redirects and refused forms."""
    from starlette.staticfiles import StaticFiles

    from watchkeeper.console import access, agents, approvals, audit, cases, orders, scorecards
    from watchkeeper.store.signins import SignIns

    assert service.store is not None  # a server always records
    idle, longest = service.settings.console_seconds()
    app.state.signins = SignIns(service.store, idle=idle, longest=longest)
    for module in (access, approvals, cases, audit, agents, orders, scorecards):
        app.router.routes.extend(module.router.routes)
    app.mount("/static", StaticFiles(packages=[("watchkeeper.console", "static")]), name="static")
    app.add_exception_handler(access.Redirect, access.redirect_handler)
    app.add_exception_handler(access.Forbidden, access.forbidden_handler)
