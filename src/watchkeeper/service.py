"""The one path every door takes: decide, admit, record, open the approval, answer.

    service = Service.open(orders, Store.open("sqlite:///wk.db"))
    done = service.submit({"tool": "shell", "input": {"command": "ls"}}, agent="infra-bot")
    done.decision, done.action_id, done.approval_id

The HTTP server, the CLI (``check --db``), the embedded SDK and every door to come call the
service and nothing else below it, so they answer alike by construction: the same decision,
recorded the same way, under the same pauses. Without a store (``Service.open(orders)``) the
service only decides: nothing is recorded and nothing can be paused.

What ``submit`` does, in order:

1. the gateway decides (pure: analyzers and standing orders);
2. in the recording transaction, under the audit log's lock, :data:`Admit` runs: the agent's key
   must still be valid and no pause may be in force over the agent or the session;
3. the action and its decision are appended; for ``ask``, :data:`Within` opens the approval in
   that same transaction (the approval exists exactly when the decision does);
4. a pause found in step 2 sends the action round once more, to be recorded as denied by it.

Anything that fails on that path is a ``deny`` naming the failure; a key revoked since it was
last seen is :class:`~watchkeeper.errors.Refused` (nothing was decided for it).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from watchkeeper.answer import back, case_back, sentence
from watchkeeper.config import Settings
from watchkeeper.decision import Decision
from watchkeeper.errors import (
    ApprovalError,
    CaseError,
    Paused,
    Refused,
    Superseded,
    Tightened,
    describe,
)
from watchkeeper.gateway import Gateway
from watchkeeper.models import Action
from watchkeeper.orders.model import StandingOrders

if TYPE_CHECKING:  # the store is imported only where a database is used
    from sqlalchemy import Connection

    from watchkeeper.analyzers import Registry
    from watchkeeper.notify import Notifier
    from watchkeeper.store.approvals import Grant
    from watchkeeper.store.database import Store
    from watchkeeper.store.identities import User
    from watchkeeper.store.recorder import Admit, Within
    from watchkeeper.store.watching import Alert, Judged
    from watchkeeper.workers import Every

#: Runs blocking work (a database call) elsewhere and awaits it: ``run_in_threadpool``.
Offload: TypeAlias = Callable[..., Awaitable[Any]]
#: Who looks at an approval: an agent (its name) or a person.
Viewer: TypeAlias = "str | User"


@dataclasses.dataclass(frozen=True, slots=True)
class Submitted:
    """What :meth:`Service.decide` answers: the decision as recorded, the audit index of the
    action (``None`` when nothing was recorded) and the approval an ``ask`` opened or joined."""

    decision: Decision
    action_id: int | None = None
    approval_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The answer as the HTTP API gives it."""
        answer = {
            **self.decision.to_json(),
            "action_id": self.action_id,
            "digest": self.decision.action_digest,
        }
        message = sentence(answer)
        if self.approval_id is not None:
            answer["approval_id"] = self.approval_id
            message += f" Approval {self.approval_id} is open for a person to decide."
        answer["message"] = message
        return answer


@dataclasses.dataclass
class _Round:
    """One attempt at recording an action: the decision as it will be recorded (the watch
    rules may change it while it is being recorded), what they made of it, the approval an
    ``ask`` opened and the alerts raised."""

    decision: Decision
    judged: Judged | None = None
    opened: str | None = None
    raised: list[Alert] = dataclasses.field(default_factory=list)


class _Attempt(Protocol):
    def __call__(
        self, halt_by: dict[str, Any] | None, tight_by: dict[str, Any] | None
    ) -> Submitted: ...


class Waits:
    """Open approval waits per caller, in this process; beyond ``cap`` a wait is refused
    (``too_many_waits``, with a time to retry after).

    Waits are held on an event loop, never in a thread, so they cannot starve decisions,
    votes or pauses; the cap keeps one caller from holding connections without bound."""

    RETRY_AFTER = 5

    def __init__(self, cap: int, on_change: Callable[[int], None] | None = None) -> None:
        self.cap = cap
        self.open: dict[str, int] = {}
        #: Told +1 and -1 as waits open and close (a gauge).
        self.on_change = on_change

    @contextlib.contextmanager
    def slot(self, who: str) -> Iterator[None]:
        # Only the event loop's thread calls this: no lock is needed around the counts.
        if self.open.get(who, 0) >= self.cap:
            raise Refused(
                "too_many_waits",
                f"{who} already holds {self.cap} open waits on this server "
                f"(max_waits_per_agent); wait on fewer approvals at once, or retry in "
                f"{self.RETRY_AFTER} s",
                retry_after=self.RETRY_AFTER,
            )
        self.open[who] = self.open.get(who, 0) + 1
        if self.on_change is not None:
            self.on_change(1)
        try:
            yield
        finally:
            if self.on_change is not None:
                self.on_change(-1)
            self.open[who] -= 1
            if not self.open[who]:
                del self.open[who]


class Service:
    """Standing orders, analyzers and (optionally) a store, behind one set of operations.

    Build it with :meth:`open`. Long-running doors (the server) call :meth:`start` for the
    background work (signing the log's tail, escalations and expiries on time, notifications,
    wake-ups from other replicas) and :meth:`close` at the end; short-lived ones (a CLI
    command, a script) only :meth:`close`.
    """

    def __init__(
        self,
        orders: StandingOrders,
        settings: Settings,
        store: Store | None = None,
        *,
        registry: Registry | None = None,
        group_commit: bool = False,
    ) -> None:
        from watchkeeper.analyzers import default_registry

        self.orders = orders
        self.settings = settings
        self.store = store
        self.gateway = Gateway(orders, registry or default_registry(settings.limits()))
        self.waits = Waits(settings.max_waits_per_agent)
        self._started = False
        self._scheduler: Every | None = None
        self._notifier: Notifier | None = None
        if store is None:
            return
        from watchkeeper.store.approvals import Approvals
        from watchkeeper.store.audit import AuditLog
        from watchkeeper.store.cases import Cases
        from watchkeeper.store.identities import Identities
        from watchkeeper.store.outbox import Outbox
        from watchkeeper.store.outcomes import Outcomes
        from watchkeeper.store.pauses import Pauses
        from watchkeeper.store.recorder import Recorder
        from watchkeeper.store.waiting import Waiter

        self.recorder = Recorder.from_settings(store, settings, group_commit=group_commit)
        self.identities = Identities(store)
        self.waiter = Waiter(store)
        outbox = Outbox(store)
        channels = tuple(orders.channels)
        self.pauses = Pauses(store, self.waiter, outbox, channels, agents=orders.agents)
        self.approvals = Approvals(store, orders.groups, self.waiter, outbox, loud=channels,
                                   pauses=self.pauses, sealer=self.recorder.signer)  # fmt: skip
        self.outcomes = Outcomes(store)
        self.cases = Cases(store, self.waiter, outbox, channels)
        self.log = AuditLog(store)
        from watchkeeper.store.incidents import Incidents
        from watchkeeper.store.tightenings import Tightenings
        from watchkeeper.store.watching import Watching

        self.tightenings = Tightenings(store)
        self.incidents = Incidents(store)
        self.watching = Watching(store, orders, outbox, self.pauses, self.tightenings,
                                 self.incidents)  # fmt: skip
        self.approvals.tightenings = self.tightenings
        if self.watching.sees("vote") or self.watching.sees("escalation"):
            self.approvals.watch = self._observe
            self.approvals.raised = self._raised
        if self.watching.sees("outcome"):
            self.outcomes.watch = self._observe_outcome
            self.outcomes.raised = self._raised

    @classmethod
    def open(
        cls,
        orders: StandingOrders,
        store: Store | None = None,
        settings: Settings | None = None,
        *,
        registry: Registry | None = None,
        group_commit: bool = False,
    ) -> Service:
        """The service for ``orders``, recording in ``store`` (none: decide only), as
        ``settings`` say (default: from the environment). ``group_commit`` shares one
        transaction among decisions recorded at once (many callers: a server)."""
        return cls(
            orders,
            settings or Settings.from_env(),
            store,
            registry=registry,
            group_commit=group_commit,
        )

    # -- lifetime ---------------------------------------------------------------------------

    def start(self, *, approvals: bool = True) -> None:
        """Start the background work of a long-running door, once: the log's tail is signed
        within ``checkpoint_seconds`` even when nothing else arrives; with ``approvals`` (a
        door that serves them), escalations and expiries happen on time, notifications are
        sent and changes on other replicas wake this one's waiters."""
        if self.store is None or self._started:
            return
        from watchkeeper.notify import Notifier
        from watchkeeper.workers import Every

        self._started = True
        self.recorder.start_signing()
        if not approvals:
            return
        self.waiter.listen()
        self._notifier = notifier = Notifier.start(
            self.store, self.orders.channels, self.settings.public_url
        )

        def advance() -> None:  # escalations and expiries on time, even when nobody looks
            if self.approvals.tick():
                notifier.wake()

        self._scheduler = Every(1.0, advance, name="approvals")

    def close(self) -> None:
        """Stop the background work and let what is being recorded commit. The store is the
        caller's: it stays open."""
        if self.store is None:
            return
        self.recorder.stop_signing()
        if self.recorder.group is not None:
            self.recorder.group.close()
        self.waiter.close()
        for worker in (self._scheduler, self._notifier):
            if worker is not None:
                worker.close()
        self._scheduler = self._notifier = None

    # -- actions ----------------------------------------------------------------------------

    def submit(
        self,
        action: Action | Mapping[str, Any],
        *,
        agent: str | None = None,
        credential: str | None = None,
        session: str | None = None,
        open_approval: bool = True,
    ) -> Submitted:
        """Decide ``action`` and record it with its decision; never raises but
        :class:`~watchkeeper.errors.Refused` for a ``credential`` revoked since it was seen.

        ``agent`` (the key's agent) replaces whatever agent the action names; without it, the
        action's own counts. ``session`` likewise. ``credential``, an agent's API key, is
        checked again in the recording transaction. An ``ask`` opens an approval for the agent
        (or joins the one open for the same action); ``open_approval=False`` answers ``ask``
        without one, for a door that could never take the grant."""
        action, agent, session = _bound(action, agent, session)

        def attempt(halt_by: dict[str, Any] | None, tight_by: dict[str, Any] | None) -> Submitted:
            decision = _tightened(self.gateway.decide(action, _halt(halt_by)), tight_by)
            if self.store is None:
                return Submitted(decision)
            try:
                if self.recorder.checkpoint_due():
                    decision = self.recorder.checked(decision)
                round_ = _Round(decision)
                admit = self._admit(credential, action, agent, session, round_, halt_by, tight_by)
                within = self._within(action, agent, session, round_, open_approval)
                _, indexes = self.recorder.record_indexed(action, decision, within, admit)
            except (Superseded, Refused):
                raise
            except Exception as exc:  # unrecorded means not decided: fail closed
                return Submitted(self._unrecorded(decision, exc))
            return self._recorded(round_, indexes)

        return _attempts(attempt)

    async def submit_async(
        self,
        action: Action | Mapping[str, Any],
        *,
        offload: Offload,
        agent: str | None = None,
        credential: str | None = None,
        session: str | None = None,
        inline: bool = True,
        open_approval: bool = True,
    ) -> Submitted:
        """:meth:`submit` for an event loop: the recording is awaited through the group
        commit, not waited for by a parked thread. ``inline`` decides on the loop (small
        actions: a fraction of a millisecond); otherwise the decision is made in ``offload``
        too. Needs ``group_commit=True``. Same answers, same failures."""
        import asyncio

        action, agent, session = _bound(action, agent, session)

        async def attempt(
            halt_by: dict[str, Any] | None, tight_by: dict[str, Any] | None
        ) -> Submitted:
            halt = _halt(halt_by)
            if inline:
                decision = self.gateway.decide(action, halt)
            else:
                decision = await offload(self.gateway.decide, action, halt)
            decision = _tightened(decision, tight_by)
            if self.store is None:
                return Submitted(decision)
            try:
                if self.recorder.checkpoint_due():
                    decision = await offload(self.recorder.checked, decision)
                round_ = _Round(decision)
                admit = self._admit(credential, action, agent, session, round_, halt_by, tight_by)
                within = self._within(action, agent, session, round_, open_approval)
                future = self.recorder.submit(action, decision, within, admit)
                indexes = await asyncio.wrap_future(future)
            except (Superseded, Refused):
                raise
            except Exception as exc:  # unrecorded means not decided: fail closed
                return Submitted(self._unrecorded(decision, exc))
            return self._recorded(round_, indexes)

        halt_by = tight_by = None
        for _ in range(2):
            try:
                return await attempt(halt_by, tight_by)
            except Paused as exc:  # a pause came into force as it was recorded: denied by it
                halt_by = exc.pause
            except Tightened as exc:  # a tightening holds: what was allowed asks
                tight_by = exc.tightening
        return await attempt(halt_by, tight_by)

    def _admit(
        self,
        credential: str | None,
        action: Action | Mapping[str, Any],
        agent: str | None,
        session: str | None,
        round_: _Round,
        halt_by: dict[str, Any] | None,
        tight_by: dict[str, Any] | None,
    ) -> Admit:
        """What must hold in the recording transaction, under the log's lock, before the
        events are written. The pauses and tightenings in force are read once for all the
        decisions committed together. A pause found raises :class:`Paused` (that round goes
        again, denied by it); a tightening over an allowed action raises :class:`Tightened`
        (it goes again, asking). Then the watch rules judge the action: a pause or a
        tightening they put in force holds over this very action, which is recorded as
        denied by it (or asking) instead."""
        tool = _tool_of(action)
        decision = round_.decision
        watching = self.watching if self.watching.sees("action") else None

        def admit(conn: Connection) -> list[dict[str, Any]] | None:
            if credential is not None:
                self.identities.check_key_in(conn, credential)  # revoked since it was seen
            if halt_by is None:
                if now_paused := self.pauses.active_in(conn, agent, session):
                    raise Paused(now_paused, _paused_by(now_paused))
                if tight_by is None and decision.decision == "allow":
                    held = self.tightenings.covering_in(conn, agent, session, tool)
                    if held is not None:
                        raise Tightened(held)
            if watching is None or halt_by is not None:  # paused: denied, nothing to judge
                return None
            from watchkeeper.gateway import halted
            from watchkeeper.stream import StreamEvent

            event = StreamEvent.of_action(action, decision, self.orders, agent=agent,
                                          session=session)  # fmt: skip
            judged = round_.judged = watching.judge_in(conn, event)
            if judged is None:
                return None
            if judged.pause is not None and decision.decision != "deny":
                round_.decision = halted(decision, _paused_by(judged.pause))
            elif judged.tightening is not None and decision.decision == "allow":
                round_.decision = _tightened(decision, judged.tightening)
            if round_.decision is decision:
                return None
            watching.decided_in(conn, judged, round_.decision.decision)
            return self.recorder.events(action, round_.decision)

        return admit

    def _within(
        self,
        action: Action | Mapping[str, Any],
        agent: str | None,
        session: str | None,
        round_: _Round,
        open_approval: bool,
    ) -> Within | None:
        """What runs in the transaction that records the decision, after its events: the
        approval of an ``ask`` (an approval is for an agent to take, so none is opened for an
        action without one, nor with ``open_approval=False``) and the alerts of the watch
        rules, naming it. So the approval exists exactly when the decision does, and an alert
        with what raised it."""
        watching = self.watching if self.watching.sees("action") else None
        asks = open_approval and bool(agent) and round_.decision.decision == "ask"
        if not asks and watching is None:
            return None

        def within(conn: Connection, indexes: list[int], decision: Decision) -> None:
            decision = round_.decision  # as recorded, after the watch rules
            if (open_approval and agent and decision.decision == "ask"
                    and decision.action_digest):  # fmt: skip
                round_.opened = self.approvals.create_in(
                    conn, indexes[0], agent, decision.action_digest, decision.approvals,
                    session=session, summary=decision.summary())  # fmt: skip
            if watching is not None and round_.judged is not None:
                round_.raised = watching.finish_in(conn, round_.judged, indexes)

        return within

    def _recorded(self, round_: _Round, indexes: list[int]) -> Submitted:
        """The answer once ``round_`` is committed; waiters woken and notifications sent for
        the alerts it raised."""
        self._raised(round_.raised)
        return Submitted(round_.decision, indexes[0], round_.opened)

    def _observe(self, conn: Connection, kind: str, facts: dict[str, Any]) -> list[Alert]:
        """Run the watch rules on a vote or an escalation (``facts``: the approval's row and
        what happened to it) in the transaction that records it."""
        from watchkeeper.stream import StreamEvent

        if kind == "vote":
            event = StreamEvent.of_vote(facts, facts["approver"], facts["vote"],
                                        facts["review_seconds"], self.orders)  # fmt: skip
        else:
            event = StreamEvent.of_escalation(facts, facts["level"], facts["pending_seconds"],
                                              self.orders)  # fmt: skip
        return self.watching.observe_in(conn, event)

    def _observe_outcome(
        self,
        conn: Connection,
        action: dict[str, Any],
        decision: dict[str, Any],
        report: dict[str, Any],
        indexes: list[int],
    ) -> list[Alert]:
        """Run the watch rules on an outcome in the transaction that records it."""
        from watchkeeper.stream import StreamEvent

        event = StreamEvent.of_outcome(action, decision, report, self.orders)
        return self.watching.observe_in(conn, event, indexes)

    def _raised(self, raised: list[Alert]) -> None:
        """After the commit of alerts: wake the waiters of approvals their pauses cancelled,
        and send their notifications now."""
        cancelled = [a for alert in raised for a in alert.cancelled]
        if cancelled:
            self.waiter.changed(*cancelled)
        if raised and self._notifier is not None:
            self._notifier.wake()

    def _unrecorded(self, decision: Decision, exc: Exception) -> Decision:
        return Decision.fail_closed(
            f"the decision could not be recorded in the audit log: {describe(exc)}",
            orders_digest=self.orders.digest,
            action_digest=decision.action_digest,
            environment=decision.environment,
        )

    # -- approvals --------------------------------------------------------------------------

    async def approval(
        self, approval_id: str, viewer: Viewer, *, wait: float = 0.0, offload: Offload
    ) -> dict[str, Any]:
        """The approval as ``viewer`` may see it: an agent sees only its own, people see all.
        With ``wait`` (seconds, at most :data:`MAX_WAIT`), the answer waits for it to leave
        ``pending``; each viewer holds at most ``max_waits_per_agent`` waits at once."""
        agent = viewer if isinstance(viewer, str) else None
        person = None if isinstance(viewer, str) else viewer.email
        view = await offload(self.approvals.get, approval_id, person)
        if view is not None and (agent is None or view["agent"] == agent) and wait > 0:
            who = f"agent {agent!r}" if agent is not None else viewer.email  # type: ignore[union-attr]
            with self.waits.slot(who):  # a wait holds no thread, but it is bounded per caller
                view = await self.approvals.waited(approval_id, min(wait, MAX_WAIT), offload)
        if agent is not None and (view is None or view["agent"] != agent):
            raise ApprovalError("not_found", f"no approval {approval_id} of yours")
        if view is None:
            raise ApprovalError("not_found", f"no approval {approval_id}")
        if agent is None:  # people see what they are asked to approve; agents their own answer
            return {**view, "handoff": await offload(self._handoff, view)}
        return {**view, "answer": self._answer(view)}

    def _handoff(self, view: Mapping[str, Any]) -> dict[str, Any]:
        """The handoff packet for the approval ``view`` (see :mod:`watchkeeper.handoff`)."""
        from watchkeeper.handoff import Handoff

        assert self.store is not None  # approvals exist only where there is a store
        return Handoff(self.store, self.orders).packet(view)

    def _answer(self, view: Mapping[str, Any]) -> dict[str, Any]:
        """The agent's answer on its approval (see :mod:`watchkeeper.answer`), with the
        instructions of the rules that asked. From the orders, not the log: every waiter woken
        at once (a pause) is answered without a read each."""
        rules = {rule.name: rule for rule in self.orders.rules}
        asked = [r.get("rule") for r in view.get("required") or () if isinstance(r, Mapping)]
        said = [rules[name].instructions for name in dict.fromkeys(asked) if name in rules]
        return back(view, [text for text in said if text])

    def recent_approvals(
        self, state: str = "pending", limit: int = 100, prefix: str = ""
    ) -> list[dict[str, Any]]:
        """Approvals for people, newest first: ``pending`` (the default), ``approved``,
        ``denied``, ``expired``, ``cancelled`` or ``all``; those whose id starts with
        ``prefix``."""
        if state not in APPROVAL_STATES:
            raise ApprovalError(
                "invalid_request", f"state {state!r} is not one of {', '.join(APPROVAL_STATES)}"
            )
        found = self.approvals.recent(None if state == "all" else state, limit, prefix)
        from watchkeeper.handoff import Handoff

        assert self.store is not None  # approvals exist only where there is a store
        briefs = Handoff(self.store, self.orders).briefs([int(v["action_index"]) for v in found])
        blank = {"what": "", "environment": "?"}
        return [{**view, **briefs.get(int(view["action_index"]), blank)} for view in found]

    def vote(
        self,
        approval_id: str,
        person: User,
        vote: str,
        comment: str = "",
        break_glass: bool = False,
    ) -> dict[str, Any]:
        """A person's vote, once each: ``approve`` or ``deny``."""
        return self.approvals.vote(approval_id, person, vote, comment, break_glass)

    def consume(self, approval_id: str, agent: str, digest: str) -> Grant:
        """The requesting agent takes its grant, once, for exactly the approved action."""
        return self.approvals.consume(approval_id, agent, digest)

    def outcome(self, action_id: int, agent: str, status: str, detail: str = "") -> dict[str, Any]:
        """The agent that ran an action reports what happened."""
        return self.outcomes.report(action_id, agent, status, detail)

    # -- cases ------------------------------------------------------------------------------

    def open_case(self, agent: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """An agent hands a conversation to a person (see :mod:`watchkeeper.store.cases`)."""
        return {**(view := self.cases.open(agent, body)), "answer": case_back(view)}

    async def case(
        self, case_id: str, viewer: Viewer, *, wait: float = 0.0, offload: Offload
    ) -> dict[str, Any]:
        """The case as ``viewer`` may see it: an agent only its own, with its ``answer``;
        people every case. With ``wait`` (seconds, at most :data:`MAX_WAIT`) the answer waits
        for the case's state to change; waits count against ``max_waits_per_agent``."""
        agent = viewer if isinstance(viewer, str) else None
        view = await offload(lambda: self.cases.get(case_id))
        if view is not None and (agent is None or view["agent"] == agent) and wait > 0:
            who = f"agent {agent!r}" if agent is not None else viewer.email  # type: ignore[union-attr]
            with self.waits.slot(who):
                view = await self.cases.waited(case_id, min(wait, MAX_WAIT), offload)
        if view is None or (agent is not None and view["agent"] != agent):
            mine = " of yours" if agent is not None else ""
            raise CaseError("not_found", f"no case {case_id}{mine}")
        return {**view, "answer": case_back(view)} if agent is not None else view

    def recent_cases(
        self, state: str = "active", limit: int = 100, agent: str = "", prefix: str = ""
    ) -> list[dict[str, Any]]:
        """Cases for people: the queue (``active``: open and claimed, oldest first), one
        state, or ``all``; one agent's; those whose id starts with ``prefix``."""
        return self.cases.recent(state, limit, agent, prefix)

    def change_case(
        self, case_id: str, person: User, change: str, notes: str = ""
    ) -> dict[str, Any]:
        """A person's step on a case: ``claim``, ``release``, ``resolve`` or ``hand_back``."""
        steps = {"claim": lambda: self.cases.claim(case_id, person),
                 "release": lambda: self.cases.release(case_id, person, notes),
                 "resolve": lambda: self.cases.resolve(case_id, person, notes),
                 "hand_back": lambda: self.cases.hand_back(case_id, person, notes)}  # fmt: skip
        if change not in steps:
            raise CaseError("invalid_request", f"{change!r} is not one of {', '.join(steps)}")
        return steps[change]()

    # -- the kill switch --------------------------------------------------------------------

    def pause(self, scope: str, target: str, reason: str, person: User) -> dict[str, Any]:
        """Pause everything, an agent or a session; pending approvals in scope are cancelled
        and unused grants revoked."""
        return self.pauses.pause(scope, target, reason, person)

    def resume(self, pause_id: str, reason: str, person: User) -> dict[str, Any]:
        """Lift a pause, with a reason."""
        return self.pauses.resume(pause_id, reason, person)

    def pauses_in_force(self, include_resumed: bool = False) -> list[dict[str, Any]]:
        """Pauses in force (and, with ``include_resumed``, the history), newest first."""
        return self.pauses.recent(include_resumed)

    # -- watch rules --------------------------------------------------------------------------

    def alerts(self, rule: str = "", limit: int = 100) -> list[dict[str, Any]]:
        """Alerts raised by watch rules, newest first (only ``rule``'s, when given)."""
        return self.watching.recent(rule, max(1, min(limit, 1000)))

    def tightenings_in_force(self, include_cleared: bool = False) -> list[dict[str, Any]]:
        """Tightenings in force (with ``include_cleared``, the history too), newest first."""
        return self.tightenings.recent(include_cleared)

    def clear_tightening(self, tightening_id: str, reason: str, person: User) -> dict[str, Any]:
        """A person lifts a watch rule's tightening, with a reason."""
        return self.tightenings.clear(tightening_id, reason, person)

    # -- incidents ----------------------------------------------------------------------------

    def open_incident(
        self, actions: list[int], severity: str, summary: str, person: User
    ) -> dict[str, Any]:
        """A person reports damage tied to ``actions`` (their audit indexes)."""
        return self.incidents.open(actions, severity, summary, person.email)

    def close_incident(self, incident_id: str, resolution: str, person: User) -> dict[str, Any]:
        """Close an incident with what resolved it."""
        return self.incidents.close(incident_id, resolution, person.email)

    def incident(self, incident_id: str) -> dict[str, Any]:
        """One incident; ``not_found`` if there is none."""
        from watchkeeper.errors import IncidentError

        found = self.incidents.get(incident_id)
        if found is None:
            raise IncidentError("not_found", f"no incident {incident_id}")
        return found

    def recent_incidents(
        self, state: str = "open", limit: int = 100, prefix: str = ""
    ) -> list[dict[str, Any]]:
        """Incidents, newest first: ``open``, ``closed`` or ``all``."""
        return self.incidents.recent(state, max(1, min(limit, 1000)), prefix)

    def scorecard(
        self, by: str = "agent", since: float = 30 * 86400.0, name: str = "",
        rubber_stamp: float = 10.0,
    ) -> dict[str, Any]:  # fmt: skip
        """Scorecards by ``agent``, ``rule`` or ``approver`` over the last ``since`` seconds
        (see :mod:`watchkeeper.store.scorecards`)."""
        import time

        from watchkeeper.errors import IncidentError
        from watchkeeper.store.scorecards import BY, Scorecards

        if by not in BY:
            raise IncidentError("invalid_request", f"by {by!r} is not one of {', '.join(BY)}")
        if since <= 0 or rubber_stamp <= 0:
            raise IncidentError("invalid_request", "since and rubber_stamp must be positive")
        assert self.store is not None  # scorecards read the audit log
        return Scorecards(self.store, self.orders).compute(
            by, since=time.time() - since, name=name, rubber_stamp=rubber_stamp
        )

    # -- the log and health -----------------------------------------------------------------

    def audit_events(self, after: int = -1, limit: int = 100) -> dict[str, Any]:
        """Up to ``limit`` (1 to 1000) events after index ``after``, and the log's size."""
        limit = max(1, min(limit, 1000))
        size = self.log.size()
        start = max(after + 1, 0)
        events = [leaf.to_json() for leaf in self.log.leaves(start, min(size, start + limit))]
        return {"size": size, "events": events}

    def database_answers(self) -> None:
        """Raise unless the database answers a query now."""
        from sqlalchemy import text

        if self.store is not None:
            with self.store.reading() as conn:
                conn.execute(text("SELECT 1"))


#: The longest an approval view may wait to leave ``pending``.
MAX_WAIT = 60.0
APPROVAL_STATES = ("pending", "approved", "denied", "expired", "cancelled", "all")


def _bound(
    action: Action | Mapping[str, Any], agent: str | None, session: str | None
) -> tuple[Action | Mapping[str, Any], str | None, str | None]:
    """The action with ``agent`` in it (who asks is said by the door, not the body), and the
    agent and session it acts as."""
    if isinstance(action, Action):
        if agent is not None:
            action = dataclasses.replace(action, agent=agent)
        return action, action.agent, session if session is not None else action.session
    if isinstance(action, Mapping):
        if agent is not None:
            action = {**action, "agent": agent}
        named = action.get("agent")
        own = action.get("session")
        if session is None and isinstance(own, str):
            session = own
        return action, named if isinstance(named, str) else None, session
    return action, agent, session  # not an action: the gateway denies it, naming the problem


def _halt(pause: dict[str, Any] | None) -> str | None:
    return None if pause is None else _paused_by(pause)


def _paused_by(pause: dict[str, Any]) -> str:
    """The reason a pause gives every action it covers."""
    from watchkeeper.store.pauses import describe as described

    return described(pause)


def _attempts(attempt: _Attempt) -> Submitted:
    """Record the action, deciding it again when a pause or a tightening found while recording
    says so: a pause is final (denied by it); a tightening may be followed by a pause."""
    halt_by = tight_by = None
    for _ in range(2):
        try:
            return attempt(halt_by, tight_by)
        except Paused as exc:  # a pause came into force as it was recorded: denied by it
            halt_by = exc.pause
        except Tightened as exc:  # a tightening holds over what was allowed: it asks
            tight_by = exc.tightening
    return attempt(halt_by, tight_by)


def _tool_of(action: Action | Mapping[str, Any]) -> str | None:
    tool = action.tool if isinstance(action, Action) else (
        action.get("tool") if isinstance(action, Mapping) else None)  # fmt: skip
    return tool if isinstance(tool, str) else None


def _tightened(decision: Decision, tightening: dict[str, Any] | None) -> Decision:
    """``decision``, asking instead of allowing while ``tightening`` holds: anyone who may
    approve answers, as for a rule that names no approvers."""
    if tightening is None or decision.decision != "allow":
        return decision
    from watchkeeper.decision import ApprovalRequirement
    from watchkeeper.store.tightenings import describe as tightened_because

    rule = f"watch:{tightening['rule']}"
    return dataclasses.replace(
        decision,
        decision="ask",
        reasons=(tightened_because(tightening), *decision.reasons),
        rules=(*decision.rules, rule),
        approvals=(ApprovalRequirement(rule=rule),),
    )
