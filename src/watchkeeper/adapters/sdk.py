"""The embedded SDK: decide in-process and guard Python functions.

    wk = Watchkeeper.from_file("watchkeeper.yaml", agent="support-bot")
    wk.check({"tool": "refund", "input": {"amount": 150}})   # -> Decision

    @wk.guard(tool="refund", environment="prod")
    def refund(order_id: str, amount: float) -> None: ...

    refund("A-1", 20)     # runs when the decision is allow
    refund("A-1", 5000)   # raises ApprovalRequired or ActionDenied, with reasons and instructions

The guarded function's arguments, bound to its signature with defaults applied, become the
action's ``input`` (``self`` and ``cls`` are left out). Values that are not JSON are passed as
their ``str()``.

Against a server (``watchkeeper serve``), the same guard waits for approvals, consumes the grant
and reports outcomes (see :mod:`watchkeeper.adapters.remote`)::

    wk = Watchkeeper.connect("http://127.0.0.1:8470", api_key, wait=300)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar, cast, overload

from watchkeeper.adapters import remote
from watchkeeper.analyzers import Registry
from watchkeeper.decision import Decision
from watchkeeper.errors import ActionDenied, ApprovalRequired, UsageError, describe
from watchkeeper.gateway import Gateway
from watchkeeper.models import Action, Intent
from watchkeeper.orders.explain import Explanation
from watchkeeper.orders.loader import builtin, load
from watchkeeper.orders.model import StandingOrders
from watchkeeper.service import Service
from watchkeeper.wording import suggest

P = ParamSpec("P")
R = TypeVar("R")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return str(value)


def _intent(intent: object) -> Intent | None:
    if intent is None or isinstance(intent, Intent):
        return intent
    if isinstance(intent, str):
        return Intent(kind=intent)
    raise UsageError(f"intent={intent!r}: give an Intent or an intent kind such as 'refund'")


@dataclass(frozen=True, slots=True)
class _CallContext:
    intent: Intent | None = None
    session: str | None = None
    environment: str | None = None


class _Refusal(str):
    """Why an action cannot be submitted through this instance; it is denied with this reason."""


class Backend(Protocol):
    """Where a :class:`Watchkeeper` decides: in this process, or on a server. Picked once, when
    the instance is made (as an HTTP client picks a transport)."""

    def check(self, action: Action | Mapping[str, Any]) -> Decision:
        """The decision on an action already bound to the instance's agent; never raises."""
        ...

    def enforce(self, action: Action, wait: float) -> remote.Ticket | None:
        """Return when ``action`` may run (with what to report its outcome on); raise
        :class:`ActionBlocked` when it may not."""
        ...

    def report(self, ticket: remote.Ticket | None, error: BaseException | None) -> None:
        """Say how the guarded call that ``ticket`` let run ended."""
        ...

    def close(self) -> None: ...


class LocalBackend:
    """Decides in this process through the service: with a database, recorded and under the
    pauses in force, as the server decides."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def check(self, action: Action | Mapping[str, Any]) -> Decision:
        # Nothing in this process can take a grant: an ``ask`` opens no approval here.
        return self.service.submit(action, open_approval=False).decision

    def enforce(self, action: Action, wait: float) -> remote.Ticket | None:
        decision = self.check(action)
        if decision.decision == "deny":
            raise ActionDenied(decision)
        if decision.decision == "ask":
            raise ApprovalRequired(decision)
        return None

    def report(self, ticket: remote.Ticket | None, error: BaseException | None) -> None:
        return None  # outcomes are reported to a server; none is here

    def close(self) -> None:
        self.service.close()
        if self.service.store is not None:
            self.service.store.close()


class RemoteBackend:
    """Decides on a server (``watchkeeper serve``), waiting for approvals and reporting
    outcomes over its HTTP API."""

    def __init__(self, client: remote.Remote) -> None:
        self.client = client

    def check(self, action: Action | Mapping[str, Any]) -> Decision:
        return remote.submit(self.client, action)[0]

    def enforce(self, action: Action, wait: float) -> remote.Ticket | None:
        return remote.enforce(self.client, action, wait)

    def report(self, ticket: remote.Ticket | None, error: BaseException | None) -> None:
        if ticket is not None:
            status, detail = ("succeeded", "") if error is None else ("failed", describe(error))
            remote.report(self.client, ticket, status, detail)

    def close(self) -> None:
        self.client.close()


class Watchkeeper:
    """Standing orders and analyzers, deciding in this process.

    With ``db="sqlite:///…"`` (or ``postgresql://…``) every action and its decision are
    recorded in that database's audit log before the decision is used.
    """

    def __init__(
        self,
        orders: StandingOrders,
        *,
        agent: str | None = None,
        session: str | None = None,
        registry: Registry | None = None,
        db: str | None = None,
    ) -> None:
        if agent is not None and orders.agents and agent not in orders.agents:
            raise UsageError(
                f"agent {agent!r} is not declared in the standing orders"
                f"{suggest(agent, sorted(orders.agents))}; declared: "
                f"{', '.join(sorted(orders.agents))}"
            )
        store = None
        if db is not None:  # every action and decision is in the audit log before it is used
            from watchkeeper.store.database import Store

            store = Store.open(db)
        service = Service.open(orders, store, registry=registry)
        service.start(approvals=False)  # an idle agent's last events are signed too
        self._setup(LocalBackend(service), agent, session)

    def _setup(self, backend: Backend, agent: str | None, session: str | None) -> None:
        self.backend = backend
        self.agent = agent
        self.session = session
        self.wait = 0.0
        self._call: contextvars.ContextVar[_CallContext | None] = contextvars.ContextVar(
            f"watchkeeper-call-{id(self)}", default=None
        )

    @classmethod
    def connect(
        cls,
        url: str,
        api_key: str,
        *,
        session: str | None = None,
        wait: float = 300.0,
        timeout: float = 10.0,
    ) -> Watchkeeper:
        """Decide on a server instead of in this process. The API key names the agent.

        ``@guard`` then waits up to ``wait`` seconds for an ``ask`` to be decided, consumes the
        grant, runs the function and reports its outcome; past ``wait`` it raises
        ``ApprovalPending`` (call again with the same arguments to resume). ``timeout`` bounds
        each request; a server that does not answer means ``deny``.
        """
        wk = cls.__new__(cls)
        wk._setup(RemoteBackend(remote.Remote(url, api_key, timeout)), None, session)
        wk.wait = wait
        return wk

    def hand_off(
        self,
        summary: str,
        why: str,
        *,
        asks_for: str = "",
        customer: str = "",
        tried: Sequence[str] = (),
        transcript: Sequence[Mapping[str, str]] = (),
        wait: float | None = None,
    ) -> dict[str, Any]:
        """Hand the conversation to a person: open a case on the server and wait up to
        ``wait`` seconds (default: this instance's ``wait``) for a person to resolve it or hand
        it back. Returns the case's ``answer``: ``state``, ``notes`` and ``message``, the
        sentence to follow (until a person answers, it says to tell the customer a person has
        it). Raises :class:`~watchkeeper.errors.RemoteError` when the case could not be opened::

            answer = wk.hand_off("refund of 1,200 asked", "refunds over 1,000 are not mine",
                                 asks_for="refund the second charge", transcript=messages)
            reply_to_model(answer["message"])
        """
        if not isinstance(self.backend, RemoteBackend):
            raise UsageError("hand_off needs people to answer: connect to a server with "
                             "Watchkeeper.connect(url, api_key)")  # fmt: skip
        client = self.backend.client
        body = {"summary": summary, "why": why, "asks_for": asks_for, "customer": customer,
                "tried": list(tried), "transcript": [dict(m) for m in transcript],
                "session": self.session}  # fmt: skip
        view = client.open_case(body)
        deadline = time.monotonic() + (self.wait if wait is None else wait)
        while view.get("state") not in ("resolved", "handed_back"):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            view = client.case(str(view["id"]), wait=min(left, remote.POLL))
        answer: dict[str, Any] = view["answer"]
        return answer

    def close(self) -> None:
        """Release the server connection or the database; the instance is done."""
        self.backend.close()

    def __enter__(self) -> Watchkeeper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _local(self, what: str) -> Service:
        if isinstance(self.backend, RemoteBackend):
            raise UsageError(
                f"{what} needs the standing orders in this process; this Watchkeeper decides on "
                f"the server at {self.backend.client.url} (use `watchkeeper explain` there)"
            )
        return cast(LocalBackend, self.backend).service

    @contextlib.contextmanager
    def context(
        self,
        *,
        intent: Intent | str | None = None,
        session: str | None = None,
        environment: str | None = None,
    ) -> Iterator[None]:
        """Set the intent, session or environment of guarded calls made inside the block.

        What the conversation is about is known per call, not when the function is defined::

            with wk.context(intent=Intent(kind="refund", goal="refund a broken mug")):
                refund("A-1042", 40)

        Intent and session given here win over the decorator's; an environment may be set here
        only when the decorator sets none (or the same one). Blocks nest, inner values winning.
        The values follow asyncio tasks started inside the block, but not new threads: run those
        with ``contextvars.copy_context().run``.
        """
        outer = self._call.get() or _CallContext()
        token = self._call.set(
            _CallContext(
                intent=_intent(intent) or outer.intent,
                session=session or outer.session,
                environment=environment or outer.environment,
            )
        )
        try:
            yield
        finally:
            self._call.reset(token)

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> Watchkeeper:
        """Load standing orders from a file or directory; raises ``OrdersError`` if refused."""
        return cls(load(path), **kwargs)

    @classmethod
    def default(cls, **kwargs: Any) -> Watchkeeper:
        """Use the built-in default standing orders."""
        return cls(builtin(), **kwargs)

    @property
    def orders(self) -> StandingOrders:
        return self._local("orders").orders

    @property
    def gateway(self) -> Gateway:
        """The gateway deciding in this process (not for an instance made by :meth:`connect`)."""
        return self._local("gateway").gateway

    def _complete(
        self, action: Action | Mapping[str, Any]
    ) -> Action | Mapping[str, Any] | _Refusal:
        """Bind the action to this instance's agent and session, or say why it cannot be.

        The agent an instance was made for is authoritative: an action may leave it out, but may
        not name another agent, or none, to escape that agent's charter.
        """
        if self.agent is None and self.session is None:
            return action
        if isinstance(action, Action):
            named = action.agent
            action = dataclasses.replace(
                action,
                agent=self.agent if self.agent is not None else action.agent,
                session=action.session if action.session is not None else self.session,
            )
        elif isinstance(action, Mapping):
            named = action.get("agent", self.agent)
            filled = dict(action)
            if self.agent is not None:
                filled["agent"] = self.agent
            if self.session is not None and filled.get("session") is None:
                filled["session"] = self.session
            action = filled
        else:
            return action  # the gateway denies what is not an action, naming the problem
        if self.agent is not None and named not in (None, self.agent):
            return _Refusal(
                f"this Watchkeeper acts for agent {self.agent!r}; the action names agent "
                f"{named!r}; use a Watchkeeper made for that agent"
            )
        return action

    def check(self, action: Action | Mapping[str, Any]) -> Decision:
        """Decide ``action`` (an :class:`Action` or its JSON form). Never raises."""
        completed = self._complete(action)
        if isinstance(completed, _Refusal):
            digest = None if isinstance(self.backend, RemoteBackend) else self.orders.digest
            return Decision.fail_closed(completed, orders_digest=digest)
        return self.backend.check(completed)

    def explain(self, action: Action | Mapping[str, Any]) -> Explanation:
        """Every rule's verdict on ``action`` and why, with this instance's agent bound in."""
        service = self._local("explain")
        completed = self._complete(action)
        if isinstance(completed, _Refusal):
            return Explanation(Decision.fail_closed(completed), (), ())
        return service.gateway.explain(completed)  # records nothing: it decides nothing

    def _action_for(
        self,
        fn: Callable[..., Any],
        tool: str,
        environment: str | None,
        intent: Intent | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Action:
        signature = inspect.signature(fn)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        params: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            kind = signature.parameters[name].kind
            if name in ("self", "cls"):
                continue
            if kind is inspect.Parameter.VAR_KEYWORD:
                # `**options` are arguments like any other: rules see `input.amount`, not
                # `input.options.amount`. A name that collides keeps both, never hides one.
                for key, item in value.items():
                    params[key if key not in params else f"{name}.{key}"] = item
            else:
                params[name] = value
        call = self._call.get() or _CallContext()
        if call.environment and environment and call.environment != environment:
            # A claim may only make things stricter; two different ones cannot both be true.
            raise UsageError(
                f"the guard of {tool!r} claims environment {environment!r} and the context "
                f"claims {call.environment!r}; claim one (leave environment= off the guard to "
                "set it per call)"
            )
        return Action(
            tool=tool,
            input=_jsonable(params),
            agent=self.agent,
            session=call.session or self.session,
            environment=call.environment or environment,
            intent=call.intent or intent,
        )

    def _enforce(self, action: Action) -> remote.Ticket | None:
        """Return when ``action`` may run; raise when it may not."""
        return self.backend.enforce(action, self.wait)

    def _report(self, ticket: remote.Ticket | None, error: BaseException | None) -> None:
        self.backend.report(ticket, error)

    @overload
    def guard(self, fn: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def guard(
        self,
        fn: None = None,
        /,
        *,
        tool: str | None = None,
        environment: str | None = None,
        intent: Intent | str | None = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def guard(
        self,
        fn: Callable[P, R] | None = None,
        /,
        *,
        tool: str | None = None,
        environment: str | None = None,
        intent: Intent | str | None = None,
    ) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorate a sync or async function so it runs only when the decision is ``allow``.

        ``tool`` defaults to the function's name; ``intent`` is an :class:`Intent` or its kind.
        """
        intent = _intent(intent)

        def decorate(func: Callable[P, R]) -> Callable[P, R]:
            if not callable(func):
                raise UsageError(f"@guard decorates functions, not {func!r}")
            name = tool or func.__name__
            if inspect.iscoroutinefunction(func):
                afunc = cast(Callable[..., Awaitable[Any]], func)

                @functools.wraps(func)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    action = self._action_for(func, name, environment, intent, args, kwargs)
                    if isinstance(self.backend, LocalBackend):
                        self._enforce(action)
                        return await afunc(*args, **kwargs)
                    # Waiting for people must not stall the event loop.
                    ticket = await asyncio.to_thread(self._enforce, action)
                    try:
                        result = await afunc(*args, **kwargs)
                    except BaseException as exc:
                        await asyncio.to_thread(self._report, ticket, exc)
                        raise
                    await asyncio.to_thread(self._report, ticket, None)
                    return result

                return cast(Callable[P, R], async_wrapper)

            @functools.wraps(func)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                ticket = self._enforce(
                    self._action_for(func, name, environment, intent, args, kwargs)
                )
                try:
                    result = func(*args, **kwargs)
                except BaseException as exc:
                    self._report(ticket, exc)
                    raise
                self._report(ticket, None)
                return result

            return wrapper

        if fn is not None:
            return decorate(fn)
        return decorate
