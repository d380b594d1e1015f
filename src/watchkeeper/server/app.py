"""The HTTP API (``watchkeeper serve``): FastAPI, stateless, every replica on one database.

    POST /v1/actions                    an agent submits an action: the decision, recorded first
                                        (for `ask`, with the approval it opened)
    GET  /v1/approvals                  people list approvals (pending by default)
    GET  /v1/approvals/{id}             its state and votes (the requesting agent, or people)
    POST /v1/approvals/{id}/votes       people vote: approve or deny, once each
    POST /v1/approvals/{id}/consume     the requesting agent takes its grant, once
    POST /v1/actions/{id}/outcome       the agent reports what happened when it ran
    POST /v1/pause, DELETE /v1/pause/{id}, GET /v1/pause
                                        the kill switch: people pause everything, an agent or
                                        a session, and resume with a reason
    GET  /v1/audit                      auditors and admins read the audit log
    GET  /healthz         liveness and the database
    GET  /metrics         Prometheus
    GET  /openapi.json    the contract

Credentials are bearer tokens: an agent's API key or a person's token. A key maps to exactly one
agent, so the agent named in a request body is ignored. Every error has one shape::

    {"error": {"code": "unauthorized", "message": "…"}}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchkeeper import __version__, strict_json
from watchkeeper.analyzers import default_registry
from watchkeeper.config import Settings
from watchkeeper.decision import Decision
from watchkeeper.errors import InvalidJSON
from watchkeeper.errors import describe as describe_error
from watchkeeper.gateway import Gateway
from watchkeeper.notify import Notifier
from watchkeeper.orders.model import StandingOrders
from watchkeeper.server import logs
from watchkeeper.server.logs import AccessLog, who
from watchkeeper.store.approvals import Approvals
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.identities import Identities, User
from watchkeeper.store.outbox import Outbox
from watchkeeper.store.outcomes import Outcomes
from watchkeeper.store.pauses import Paused, Pauses, describe
from watchkeeper.store.recorder import Recorder
from watchkeeper.store.refusal import Refused
from watchkeeper.store.waiting import Waiter
from watchkeeper.workers import Every

#: The longest a request may wait for an approval to be decided.
MAX_WAIT = 60.0
#: Actions up to this size are decided on the event loop; larger ones in a worker thread.
INLINE_BYTES = 16 * 1024
#: Room for the JSON around an action's input, on top of the input limit.
_ENVELOPE = 64 * 1024


class ApiError(Exception):
    """An answer other than 2xx, in the one error shape."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


async def _object(request: Request, empty_ok: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if empty_ok and not raw.strip():
        return {}
    return strict_json.loads_object(raw, what="the body")  # InvalidJSON: answered 400


class Guard:
    """What every request must be before anything reads it, in plain ASGI (it costs next to
    nothing per request):

    - bodies are limited: ``limit`` bytes for actions (plans are large), ``small`` for every
      other endpoint; by Content-Length before reading, and while reading a chunked body;
    - a body must keep arriving: ``BODY_SECONDS`` of silence ends the request (408), so a
      client dripping a byte at a time cannot hold a connection and its memory for ever;
    - a URL holding a NUL character is refused (400): no database text can carry it.
    """

    BODY_SECONDS = 30.0

    def __init__(self, app: ASGIApp, limit: int, small: int = 64 * 1024) -> None:
        self.app, self.limit, self.small = app, limit, small

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            refused = "the URL holds a NUL character (%00); no id or value has one"
            await _error(400, "invalid_request", refused)(scope, receive, send)
            return
        limit = self.limit if scope["path"] == "/v1/actions" else self.small
        too_large = f"request bodies to {scope['path']} are limited to {limit} bytes"
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await _error(413, "too_large", too_large)(scope, receive, send)
                return
        received, complete = 0, False

        async def counted() -> Message:
            nonlocal received, complete
            if complete:  # the body is in: what remains is waiting to hear of a disconnect
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.BODY_SECONDS)
            except TimeoutError:
                raise ApiError(408, "timeout", f"the body stopped arriving for "
                               f"{self.BODY_SECONDS:g} s; send it whole") from None  # fmt: skip
            received += len(message.get("body", b""))
            complete = not message.get("more_body", False)
            if received > limit:  # answered by the ApiError handler, in the error shape
                raise ApiError(413, "too_large", too_large)
            return message

        await self.app(scope, counted, send)


class Waits:
    """Open waits per caller, on this server; over the cap a wait is refused with 429.

    Waits are held on the event loop, never in a thread, so they cannot starve decisions,
    votes or pauses; the cap keeps one caller from holding connections without bound."""

    RETRY_AFTER = 5

    def __init__(self, cap: int, gauge: Gauge) -> None:
        self.cap, self.gauge = cap, gauge
        self.open: dict[str, int] = {}

    @contextlib.contextmanager
    def slot(self, who: str) -> Iterator[None]:
        # Only the event loop's thread calls this: no lock is needed around the counts.
        if self.open.get(who, 0) >= self.cap:
            raise ApiError(
                429,
                "too_many_waits",
                f"{who} already holds {self.cap} open waits on this server "
                f"(max_waits_per_agent); wait on fewer approvals at once, or retry in "
                f"{self.RETRY_AFTER} s",
                headers={"Retry-After": str(self.RETRY_AFTER)},
            )
        self.open[who] = self.open.get(who, 0) + 1
        self.gauge.inc()
        try:
            yield
        finally:
            self.gauge.dec()
            self.open[who] -= 1
            if not self.open[who]:
                del self.open[who]


def create_app(orders: StandingOrders, store: Store, settings: Settings | None = None) -> FastAPI:
    """The application, deciding under ``orders`` and recording in ``store``."""
    settings = settings or Settings.from_env()
    recorder = Recorder.from_settings(store, settings, group_commit=True)
    gateway = Gateway(orders, default_registry(settings.limits()), recorder=recorder)
    identities = Identities(store)
    waiter = Waiter.start(store)
    outbox = Outbox(store)
    channels = tuple(orders.channels)
    pauses = Pauses(store, waiter, outbox, channels, agents=orders.agents)
    approvals = Approvals(store, orders.groups, waiter, outbox, loud=channels, pauses=pauses,
                          sealer=recorder.signer)  # fmt: skip
    notifier = Notifier.start(store, orders.channels, settings.public_url)

    # Escalations and expiries happen on time even when nobody looks at the approval.
    def advance() -> None:
        if approvals.tick():
            notifier.wake()

    scheduler = Every(1.0, advance, name="approvals")
    outcomes = Outcomes(store)
    log = AuditLog(store)
    limit = settings.max_input_bytes + _ENVELOPE
    metrics = CollectorRegistry()
    decisions = Counter(
        "watchkeeper_decisions", "Decisions made, by outcome.", ["decision"], registry=metrics
    )
    latency = Histogram(
        "watchkeeper_decision_seconds",
        "Time to decide and record one action.",
        registry=metrics,
        buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    )

    waits = Waits(
        settings.max_waits_per_agent,
        Gauge("watchkeeper_waits_open", "Approval waits held open now.", registry=metrics),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        recorder.start_signing()  # the tail is signed even when nothing else arrives
        yield
        # Stopping: what is being recorded commits, listeners stop. The store is the caller's.
        await run_in_threadpool(recorder.stop_signing)
        if recorder.group is not None:
            await run_in_threadpool(recorder.group.close)
        await run_in_threadpool(waiter.close)
        await run_in_threadpool(scheduler.close)
        await run_in_threadpool(notifier.close)

    app = FastAPI(
        lifespan=lifespan,
        title="watchkeeper",
        version=__version__,
        description="Decisions for AI agents' actions, recorded in a tamper-evident log.",
    )

    #: The key that signs checkpoints, as auditors check them (public: logged at start).
    app.state.verifier = str(recorder.signer.verifier) if recorder.signer else None
    app.add_middleware(Guard, limit=limit)
    app.add_middleware(AccessLog)  # outermost: every request gets its line, refused ones too

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(InvalidJSON)
    async def invalid_json(_request: Request, exc: InvalidJSON) -> JSONResponse:
        return _error(413 if exc.code == "too_large" else 400, exc.code, str(exc))

    @app.exception_handler(Refused)
    async def refused(_request: Request, exc: Refused) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(ClientDisconnect)
    async def gone(_request: Request, _exc: ClientDisconnect) -> JSONResponse:
        # The client left mid-body: nothing was decided, nobody hears the answer, and it is not
        # the server's failure (no 500, no traceback in the log).
        return _error(400, "client_disconnected", "the client left before sending its body")

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # Nothing was decided or changed by a request that ends here: say so in the one shape,
        # with the first line only: a database error's next lines quote the SQL.
        first = describe_error(exc).strip().splitlines()[0][:300]
        return _error(500, "internal", f"the server failed on this request: {first}")

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", str(exc.errors()[:3]))

    def bearer(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "send `Authorization: Bearer <key or token>`")
        return token.strip()

    def agent_of(request: Request) -> str:
        agent = identities.agent_for(bearer(request))
        if agent is None:
            raise ApiError(401, "unauthorized", "this key belongs to no agent (or was revoked)")
        who(request.scope, f"agent {agent}")
        return agent

    def person_of(request: Request, *roles: str) -> User:
        user = identities.user_for(bearer(request))
        if user is None:
            raise ApiError(401, "unauthorized", "this token belongs to no person (or was revoked)")
        who(request.scope, user.email)
        if roles and user.role not in roles:
            raise ApiError(403, "forbidden", f"this needs the role {' or '.join(roles)}")
        return user

    # The kill switch runs on threads of its own: however busy the shared pool is (long lists,
    # large actions), a pause never queues behind them.
    kill_switch = anyio.CapacityLimiter(4)

    def database_answers() -> None:
        with store.reading() as conn:
            conn.execute(text("SELECT 1"))

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        try:  # on the kill switch's threads: a busy server still says whether it lives
            await anyio.to_thread.run_sync(database_answers, limiter=kill_switch)
        except Exception as exc:
            raise ApiError(503, "unavailable", f"the database does not answer: {exc}") from None
        return {"status": "ok", "version": __version__, "orders": orders.digest}

    @app.get("/metrics")
    def prometheus() -> Response:
        return PlainTextResponse(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/actions")
    async def submit(request: Request) -> Response:
        """Decide an action; it and its decision are in the audit log before the answer."""
        token = bearer(request)
        # Who is asking is known before the body is read: a request without a key of an
        # agent never gets to send (and make the server hold) up to the input limit.
        agent = identities.known_agent(token)
        if agent is None:  # a key not seen yet: read it, off the event loop
            agent = await run_in_threadpool(agent_of, request)
        who(request.scope, f"agent {agent}")
        body = await request.body()  # its size was checked as it arrived (Guard)
        # Strict: a key sent twice would be decided on one copy and run with the other. A
        # large body is read in a thread: the event loop serves the kill switch meanwhile.
        what = "the body (an action)"
        if len(body) <= INLINE_BYTES:
            action = strict_json.loads_object(body, what=what)
        else:
            action = await run_in_threadpool(lambda: strict_json.loads_object(body, what=what))
        action["agent"] = agent  # the key says who is asking, whatever the body says
        session = action.get("session") if isinstance(action.get("session"), str) else None
        started = time.perf_counter()
        # Small actions are decided on the event loop (a fraction of a millisecond, and no
        # thread hand-offs); large ones, such as big plans, in a thread. Either way the
        # recording is awaited, not waited for by a parked thread.
        inline = len(body) <= INLINE_BYTES
        try:
            decision, action_id, approval_id = await attempt(
                action, token, agent, session, None, inline
            )
        except Paused as exc:  # a pause came into force as it was recorded: denied by it
            decision, action_id, approval_id = await attempt(
                action, token, agent, session, exc.pause, inline
            )
        latency.observe(time.perf_counter() - started)
        decisions.labels(decision.decision).inc()
        if logs.decisions.isEnabledFor(logging.INFO):
            tool = action.get("tool")
            fields = {"action_id": action_id, "tool": tool if isinstance(tool, str) else "?",
                      "decision": decision.decision, "rules": ",".join(decision.rules) or "-",
                      "approval_id": approval_id or "-", "who": f"agent {agent}"}  # fmt: skip
            logs.decisions.info("decision", extra=fields)
        answer = {**decision.to_json(), "action_id": action_id, "digest": decision.action_digest}
        if approval_id is not None:
            answer["approval_id"] = approval_id
        # The answer is plain JSON already: encoded once, not walked again by the framework.
        return Response(json.dumps(answer), media_type="application/json")

    async def attempt(
        action: dict[str, Any],
        token: str,
        agent: str,
        session: str | None,
        pause: dict[str, Any] | None,
        inline: bool,
    ) -> tuple[Decision, int | None, str | None]:
        """Decide and record under ``pause`` (``None``: none known). The pauses in force are
        read in the recording transaction, under the log's lock, once for all the decisions
        committed together; one found there raises :class:`Paused`, and the action goes round
        once more, to be recorded as denied by it (that round reads no pauses)."""
        created: list[str] = []

        def admit(conn: Any) -> None:
            identities.check_key_in(conn, token)  # revoked since it was last seen: 401
            if pause is None and (now_paused := pauses.active_in(conn, agent, session)):
                raise Paused(now_paused)

        def on_ask(conn: Any, indexes: list[int], decided: Decision) -> None:
            if decided.action_digest:
                created.append(approvals.create_in(
                    conn, indexes[0], agent, decided.action_digest, decided.approvals,
                    session=session, summary=decided.summary()))  # fmt: skip

        halt = None if pause is None else describe(pause)
        if inline:
            decision = gateway.decided(action, halt)
        else:
            decision = await run_in_threadpool(gateway.decided, action, halt)
        decision, action_id = await gateway.recorded(
            action, decision, on_ask, admit, offload=run_in_threadpool
        )
        return decision, action_id, created[0] if created else None

    async def approval_for(approval_id: str, request: Request, wait: float) -> dict[str, Any]:
        token = bearer(request)

        def caller() -> tuple[str | None, str]:
            """The agent (``None`` for a person) and who the caller is, for the wait cap."""
            agent = identities.agent_for(token)
            if agent is not None:
                who(request.scope, f"agent {agent}")
                return agent, f"agent {agent!r}"
            return None, person_of(request).email

        agent, caller_name = await run_in_threadpool(caller)
        view = await run_in_threadpool(approvals.get, approval_id)
        if view is not None and (agent is None or view["agent"] == agent) and wait > 0:
            with waits.slot(caller_name):  # a wait holds no thread, but it is bounded per caller
                view = await approvals.waited(approval_id, min(wait, MAX_WAIT), run_in_threadpool)
        if agent is not None:  # an agent sees its own approvals, and no one else's
            if view is None or view["agent"] != agent:
                raise ApiError(404, "not_found", f"no approval {approval_id} of yours")
            return view
        if view is None:
            raise ApiError(404, "not_found", f"no approval {approval_id}")
        return view

    @app.get("/v1/approvals")
    def list_approvals(
        request: Request, state: str = "pending", limit: int = 100, prefix: str = ""
    ) -> dict[str, Any]:
        """Approvals for people, newest first: ``?state=pending`` (the default), ``approved``,
        ``denied``, ``expired``, ``cancelled`` or ``all``; ``?prefix=`` keeps those whose id
        starts with it."""
        person_of(request)
        states = ("pending", "approved", "denied", "expired", "cancelled", "all")
        if state not in states:
            raise ApiError(422, "invalid_request", f"state {state!r} is not one of {states}")
        found = approvals.recent(None if state == "all" else state, limit, prefix)
        return {"approvals": found}

    @app.get("/v1/approvals/{approval_id}")
    async def get_approval(approval_id: str, request: Request, wait: float = 0) -> dict[str, Any]:
        """The approval's state and votes (the requesting agent, or people). With ``?wait=S``
        the answer waits, up to S seconds (at most 60), for the state to leave ``pending``;
        each caller may hold ``max_waits_per_agent`` waits at once (429 beyond)."""
        return await approval_for(approval_id, request, wait)

    @app.post("/v1/approvals/{approval_id}/votes")
    async def vote(approval_id: str, request: Request) -> dict[str, Any]:
        """A person's vote: {"vote": "approve"|"deny", "comment": "…", "break_glass": false}."""
        person = await run_in_threadpool(person_of, request)  # who, before reading the body
        body = await _object(request)
        glass = body.get("break_glass", False)
        if not isinstance(glass, bool):
            raise ApiError(
                422, "invalid_request", f"break_glass must be true or false, not {glass!r}"
            )
        choice, comment = str(body.get("vote")), str(body.get("comment") or "")
        return await run_in_threadpool(
            lambda: approvals.vote(approval_id, person, choice, comment, glass)
        )

    @app.post("/v1/approvals/{approval_id}/consume")
    async def consume(approval_id: str, request: Request) -> dict[str, Any]:
        """The requesting agent takes its grant, once: {"digest": "sha256:…"}."""
        agent = await run_in_threadpool(agent_of, request)
        body = await _object(request)

        def consumed() -> dict[str, Any]:
            grant = approvals.consume(approval_id, agent, str(body.get("digest")))
            return {
                "approval_id": grant.approval_id,
                "digest": grant.digest,
                "granted": True,
                "action_id": grant.action_index,
            }

        return await run_in_threadpool(consumed)

    @app.post("/v1/actions/{action_id}/outcome")
    async def outcome(action_id: int, request: Request) -> dict[str, Any]:
        """The agent that ran an action reports what happened:
        {"status": "succeeded"|"failed"|"reverted"|"unknown", "detail": "…"}."""
        agent = await run_in_threadpool(agent_of, request)
        body = await _object(request)
        status, detail = str(body.get("status")), str(body.get("detail") or "")
        if not 0 <= action_id < 2**63:
            raise ApiError(404, "not_found", f"no action {action_id}")
        return await run_in_threadpool(lambda: outcomes.report(action_id, agent, status, detail))

    @app.post("/v1/pause")
    async def pause(request: Request) -> dict[str, Any]:
        """The kill switch: {"scope": "all"|"agent"|"session", "target": "…", "reason": "…"}.
        Pending approvals in scope are cancelled and unused grants revoked."""
        person = await anyio.to_thread.run_sync(
            lambda: person_of(request, "approver", "admin"), limiter=kill_switch
        )
        body = await _object(request)
        scope, target = str(body.get("scope") or ""), str(body.get("target") or "")
        reason = str(body.get("reason") or "")
        return await anyio.to_thread.run_sync(
            lambda: pauses.pause(scope, target, reason, person), limiter=kill_switch
        )

    @app.get("/v1/pause")
    def paused(request: Request, all: bool = False) -> dict[str, Any]:
        """Pauses in force (with ``?all=true``, resumed ones too), for people."""
        person_of(request)
        return {"pauses": pauses.recent(include_resumed=all)}

    @app.delete("/v1/pause/{pause_id}")
    async def resume(pause_id: str, request: Request) -> dict[str, Any]:
        """Lift a pause: a person, with {"reason": "…"} (or ``?reason=``)."""
        person = await anyio.to_thread.run_sync(
            lambda: person_of(request, "approver", "admin"), limiter=kill_switch
        )
        body = await _object(request, empty_ok=True)
        reason = str(body.get("reason") or request.query_params.get("reason") or "")
        return await anyio.to_thread.run_sync(
            lambda: pauses.resume(pause_id, reason, person), limiter=kill_switch
        )

    @app.get("/v1/audit")
    def audit(request: Request, after: int = -1, limit: int = 100) -> dict[str, Any]:
        """Events after index ``after`` (auditors and admins)."""
        person_of(request, "auditor", "admin")
        limit = max(1, min(limit, 1000))
        size = log.size()
        start = max(after + 1, 0)
        events = [leaf.to_json() for leaf in log.leaves(start, min(size, start + limit))]
        return {"size": size, "events": events}

    return app
