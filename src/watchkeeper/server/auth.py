"""Who is asking: bearer credentials resolved to an agent or a person, as dependencies.

    @router.post("/v1/approvals/{approval_id}/votes")
    async def vote(approval_id: str, person: Person, request: Request) -> dict[str, Any]: ...

An agent's API key names exactly one agent, so the agent named in a request body is ignored.
Every dependency resolves the caller before the endpoint reads the body: a request without a
valid credential never gets to send (and make the server hold) a body. Database reads run in
threads; those of the kill switch on threads of its own (``app.state.kill_switch``).

``POST /v1/actions`` awaits :func:`submitting_agent` itself, first thing, rather than as a
dependency: on the busiest path, FastAPI's resolving of a dependency costs more than the
lookup it wraps.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request

from watchkeeper.errors import Refused
from watchkeeper.server.logs import who
from watchkeeper.service import Service
from watchkeeper.store.identities import User


def service_of(request: Request) -> Service:
    """The service this application serves."""
    service: Service = request.app.state.service
    return service


def bearer(request: Request) -> str:
    """The credential of ``Authorization: Bearer …``."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused("unauthorized", "send `Authorization: Bearer <key or token>`")
    return token.strip()


def _agent(service: Service, token: str) -> str:
    agent = service.identities.agent_for(token)
    if agent is None:
        raise Refused("unauthorized", "this key belongs to no agent (or was revoked)")
    return agent


def _person(service: Service, token: str) -> User:
    user = service.identities.user_for(token)
    if user is None:
        raise Refused("unauthorized", "this token belongs to no person (or was revoked)")
    return user


async def agent_of(request: Request) -> str:
    """The agent of the request's key, read from the database now."""
    agent = await anyio.to_thread.run_sync(_agent, service_of(request), bearer(request))
    who(request.scope, f"agent {agent}")
    return agent


async def submitting_agent(request: Request) -> str:
    """The agent of the request's key; a key seen valid before is not read again here, since
    the service checks it again in the recording transaction (``credential``)."""
    token = bearer(request)
    service = service_of(request)
    agent = service.identities.known_agent(token)
    if agent is None:  # a key not seen yet: read it, off the event loop
        agent = await anyio.to_thread.run_sync(_agent, service, token)
    who(request.scope, f"agent {agent}")
    return agent


def person_with(*roles: str, kill_switch: bool = False) -> Callable[[Request], Awaitable[User]]:
    """A dependency: the person of the request's token, holding one of ``roles`` (any role
    when none is named)."""

    async def person(request: Request) -> User:
        limiter = request.app.state.kill_switch if kill_switch else None
        service, token = service_of(request), bearer(request)
        user = await anyio.to_thread.run_sync(_person, service, token, limiter=limiter)
        who(request.scope, user.email)  # named in the log even when the role is refused
        if roles and user.role not in roles:
            raise Refused("forbidden", f"this needs the role {' or '.join(roles)}")
        return user

    return person


async def viewer_of(request: Request) -> str | User:
    """An agent (its name) or a person: whoever holds the credential."""
    service, token = service_of(request), bearer(request)

    def caller() -> str | User:
        agent = service.identities.agent_for(token)
        return agent if agent is not None else _person(service, token)

    found = await anyio.to_thread.run_sync(caller)
    who(request.scope, f"agent {found}" if isinstance(found, str) else found.email)
    return found


Agent = Annotated[str, Depends(agent_of)]
Person = Annotated[User, Depends(person_with())]
#: Approvers and admins, on the kill switch's threads: a pause never queues behind others.
Switcher = Annotated[User, Depends(person_with("approver", "admin", kill_switch=True))]
Auditor = Annotated[User, Depends(person_with("auditor", "admin"))]
Viewer = Annotated["str | User", Depends(viewer_of)]
