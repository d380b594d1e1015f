"""The one orchestrator: action in, decision out. It owns no SQL, no HTTP and no YAML.

    gateway = Gateway(orders)
    decision = gateway.submit({"tool": "refund", "input": {"amount": 150}, "agent": "support-bot"})

``submit`` never raises: any error on the way (a malformed action, an analyzer crash, a condition
error) is a ``deny`` whose reason is the error.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from watchkeeper.analyzers import DeclaredToolAnalyzer, Registry, default_registry, unknown_effect
from watchkeeper.canonical import canonical_json
from watchkeeper.decision import Decision
from watchkeeper.errors import (
    InvalidAction,
    Superseded,
    WatchkeeperError,
    describe,
    message_of,
)
from watchkeeper.inventory import Inventory
from watchkeeper.models import Action, Effect
from watchkeeper.orders.evaluate import decide
from watchkeeper.orders.explain import Explanation, explain
from watchkeeper.orders.model import StandingOrders
from watchkeeper.store.refusal import Refused

if TYPE_CHECKING:  # the store is imported only where a database is used
    from watchkeeper.store.recorder import Recorder

#: Effect attributes that say where an action acts (read out of commands by analyzers).
_PLACING = frozenset({"context", "workspace", "profile", "project", "subscription", "account"})


class Gateway:
    """Decides actions under one set of standing orders, with the analyzers of ``registry``."""

    def __init__(
        self,
        orders: StandingOrders,
        registry: Registry | None = None,
        *,
        recorder: Recorder | None = None,
    ) -> None:
        self.orders = orders
        self.registry = registry if registry is not None else default_registry()
        self.inventory = Inventory(orders)
        self._declared = {name: DeclaredToolAnalyzer(d) for name, d in orders.tools.items()}
        #: Records every action and decision in the audit log before the decision is returned.
        self.recorder = recorder

    def analyze(self, action: Action) -> list[Effect]:
        """Effects from every analyzer that knows the tool, or one ``unknown`` effect.

        A registered analyzer and a declaration for the same tool both apply: the union is never
        laxer than either.
        """
        effects: list[Effect] = []
        for analyzer in self.registry.analyzers_for(action.tool):
            effects.extend(self.registry.run(analyzer, action))
        declared = self._declared.get(action.tool)
        if declared is not None:
            # Within the same bounds as any analyzer: the code a declaration names is parsed
            # by the SQL, shell and Terraform analyzers, as large as the input allows.
            effects.extend(self.registry.run(declared, action))
        if not effects:
            effects.append(unknown_effect(action, "no analyzer or declaration describes this tool"))
        return effects

    def submit(self, action: Action | Mapping[str, Any]) -> Decision:
        """Decide ``action`` (an :class:`Action` or its JSON form). Never raises.

        With a recorder, the action and the decision are in the audit log before this returns;
        if they cannot be recorded, the decision is ``deny`` with the reason.
        """
        return self.submit_recorded(action)[0]

    def submit_recorded(
        self,
        action: Action | Mapping[str, Any],
        on_ask: Any = None,
        halt: str | None = None,
        admit: Any = None,
    ) -> tuple[Decision, int | None]:
        """Decide and record ``action``; the decision and the audit index of the action event
        (``None`` without a recorder, or when recording failed and the answer is ``deny``).

        ``admit(conn)`` runs in the recording transaction, under the log's lock, before
        anything is written; it may raise :class:`Superseded` to have nothing recorded and the
        caller decide again (a pause came into force), or :class:`Refused` to refuse the
        request outright (its key was revoked). ``on_ask(conn, indexes, decision)`` runs
        in the same transaction when the decision is ``ask``: the approval is created with the
        decision, or neither is.

        ``halt`` is a reason every action is refused for now (a pause): the action is still
        analyzed and recorded, and the answer is ``deny``, that reason first."""
        decision = self.decided(action, halt)
        if self.recorder is None:
            return decision, None
        try:
            within = on_ask if decision.decision == "ask" else None
            recorded, indexes = self.recorder.record_indexed(action, decision, within, admit)
            return recorded, indexes[0]
        except (Superseded, Refused):  # decide again / refuse the request outright
            raise
        except Exception as exc:  # unrecorded means not decided: fail closed
            return self._unrecorded(decision, exc), None

    def decided(self, action: Action | Mapping[str, Any], halt: str | None = None) -> Decision:
        """The decision on ``action``, not recorded; with ``halt``, ``deny`` for that reason
        first. Never raises. Pure computation: an event loop may call it for small actions."""
        decision = self._decide(action)
        if halt is not None:
            # The pause denies it, not a rule: rules that matched would read as the denial's
            # cause (an allow rule named on a deny). What it would be without the pause is said.
            matched = f" ({', '.join(decision.rules)})" if decision.rules else ""
            decision = dataclasses.replace(
                decision,
                decision="deny",
                reasons=(halt, f"without the pause: {decision.decision}{matched}"),
                rules=(),
                instructions=("Wait until a person resumes it; do not retry in a loop.",),
                approvals=(),
            )
        return decision

    async def recorded(
        self,
        action: Action | Mapping[str, Any],
        decision: Decision,
        on_ask: Any = None,
        admit: Any = None,
        *,
        offload: Callable[..., Awaitable[Any]],
    ) -> tuple[Decision, int | None]:
        """The second half of :meth:`submit_recorded`, for an event loop: record ``decision``
        (from :meth:`decided`) through the recorder's group commit without parking a thread on
        the commit. ``offload(fn, *args)`` runs blocking work elsewhere (a checkpoint that is
        due). Same answers, same failures: :class:`Superseded` propagates, anything else is a
        ``deny``."""
        if self.recorder is None:
            return decision, None
        try:
            if self.recorder.checkpoint_due():
                decision = await offload(self.recorder.checked, decision)
            within = on_ask if decision.decision == "ask" else None
            future = self.recorder.submit(action, decision, within, admit)
            indexes = await asyncio.wrap_future(future)
            return decision, indexes[0]
        except (Superseded, Refused):  # decide again / refuse the request outright
            raise
        except Exception as exc:  # unrecorded means not decided: fail closed
            return self._unrecorded(decision, exc), None

    def _unrecorded(self, decision: Decision, exc: Exception) -> Decision:
        return Decision.fail_closed(
            f"the decision could not be recorded in the audit log: {describe(exc)}",
            orders_digest=self.orders.digest,
            action_digest=decision.action_digest,
            environment=decision.environment,
        )

    def _decide(self, action: Action | Mapping[str, Any]) -> Decision:
        digest_of_orders = self.orders.digest
        try:
            # Actions built in code are checked like JSON ones: same rules, same messages.
            action = Action.from_json(action.to_json() if isinstance(action, Action) else action)
        except InvalidAction as exc:
            return Decision.fail_closed(f"invalid action: {exc}", orders_digest=digest_of_orders)
        except Exception as exc:
            return Decision.fail_closed(
                f"invalid action: {describe(exc)}", orders_digest=digest_of_orders
            )
        action_digest = env = None
        try:
            document = canonical_json(action.input)  # refuses what is not JSON, sizes the input
            self.registry.check_size(action, len(document))
            evidence = self.inventory.evidence(action)  # read the input once
            placement = self.inventory.place(action, evidence=evidence)
            env = placement.single
            action_digest = action.digest(env, document)
            effects = self.analyze(action)
            if any(
                e.environment
                or e.target.kind in ("host", "file", "directory")
                or _PLACING & e.attributes.keys()
                for e in effects
            ):  # analyzers read where their targets are: resolved paths, hosts, contexts
                placement = self.inventory.place(action, effects, evidence)
                if placement.single != env:
                    env = placement.single
                    action_digest = action.digest(env, document)
            if env is not None:
                effects = [e if e.environment else e.in_environment(env) for e in effects]
            return decide(self.orders, action, effects, placement, action_digest=action_digest)
        except WatchkeeperError as exc:
            return Decision.fail_closed(
                message_of(exc),
                orders_digest=digest_of_orders,
                action_digest=action_digest,
                environment=env,
            )
        except Exception as exc:  # fail closed on anything we did not foresee
            return Decision.fail_closed(
                f"internal error while deciding: {describe(exc)}",
                orders_digest=digest_of_orders,
                action_digest=action_digest,
                environment=env,
            )

    def explain(self, action: Action | Mapping[str, Any]) -> Explanation:
        """The decision and every rule's verdict on ``action``, for people; never raises."""
        decision = self.submit(action)
        try:
            parsed = action if isinstance(action, Action) else Action.from_json(action)
            effects = list(decision.effects) or self.analyze(parsed)
            placement = self.inventory.place(parsed, effects)
        except Exception as exc:  # nothing more to explain than the failed decision
            return Explanation(decision, (), (f"cannot explain further: {describe(exc)}",))
        return explain(self.orders, parsed, effects, placement, decision)
