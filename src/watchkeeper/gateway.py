"""Action in, decision out: analyzers and standing orders, and nothing else. Pure: no SQL, no
HTTP, no YAML, no recording (the service records; see :mod:`watchkeeper.service`).

    gateway = Gateway(orders)
    decision = gateway.decide({"tool": "refund", "input": {"amount": 150}, "agent": "support-bot"})

``decide`` never raises: any error on the way (a malformed action, an analyzer crash, a
condition error) is a ``deny`` whose reason is the error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from watchkeeper.analyzers import DeclaredToolAnalyzer, Registry, default_registry, unknown_effect
from watchkeeper.analyzers.hints import hinted
from watchkeeper.analyzers.locations import located
from watchkeeper.canonical import canonical_json
from watchkeeper.decision import Decision
from watchkeeper.errors import (
    InvalidAction,
    WatchkeeperError,
    describe,
    message_of,
)
from watchkeeper.inventory import PLACING, Inventory
from watchkeeper.models import Action, Effect
from watchkeeper.orders.evaluate import decide
from watchkeeper.orders.explain import Explanation, explain
from watchkeeper.orders.model import StandingOrders

#: Kinds of target the inventory reads an environment from (or a current context for).
_PLACED_KINDS = frozenset(
    {"host", "file", "directory", "terraform_resource", "k8s_resource", "cloud_resource"}
)


class Gateway:
    """Decides actions under one set of standing orders, with the analyzers of ``registry``."""

    def __init__(
        self,
        orders: StandingOrders,
        registry: Registry | None = None,
    ) -> None:
        self.orders = orders
        self.registry = registry if registry is not None else default_registry()
        self.inventory = Inventory(orders)
        self._declared = {name: DeclaredToolAnalyzer(d) for name, d in orders.tools.items()}

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
        # After the unknown effect: a server's hint adds to what is known, it never stands in
        # for it (see analyzers/hints.py).
        effects.extend(hinted(action))
        cwd = action.input.get("cwd")
        return [located(e, cwd if isinstance(cwd, str) else None) for e in effects]

    def decide(self, action: Action | Mapping[str, Any], halt: str | None = None) -> Decision:
        """The decision on ``action`` (an :class:`Action` or its JSON form); never raises.

        ``halt`` is a reason every action is refused for now (a pause): the action is still
        analyzed, and the answer is ``deny``, that reason first, with what the decision would
        have been without it. Pure computation: nothing is recorded (the service records), and
        an event loop may call it for small actions."""
        decision = self._decide(action)
        return decision if halt is None else halted(decision, halt)

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
                or e.target.kind in _PLACED_KINDS
                or PLACING & e.attributes.keys()
                or "host" in e.attributes
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
        """The decision and every rule's verdict on ``action``, for people; never raises, and
        records nothing."""
        decision = self.decide(action)
        try:
            parsed = action if isinstance(action, Action) else Action.from_json(action)
            effects = list(decision.effects) or self.analyze(parsed)
            placement = self.inventory.place(parsed, effects)
        except Exception as exc:  # nothing more to explain than the failed decision
            return Explanation(decision, (), (f"cannot explain further: {describe(exc)}",))
        return explain(self.orders, parsed, effects, placement, decision)


def halted(decision: Decision, halt: str) -> Decision:
    """``decision`` denied by a pause whose reason is ``halt``.

    The pause denies it, not a rule: rules that matched would read as the denial's cause (an
    allow rule named on a deny). What it would be without the pause is said."""
    matched = f" ({', '.join(decision.rules)})" if decision.rules else ""
    return dataclasses.replace(
        decision,
        decision="deny",
        reasons=(halt, f"without the pause: {decision.decision}{matched}"),
        rules=(),
        instructions=("Wait until a person resumes it; do not retry in a loop.",),
        approvals=(),
    )
