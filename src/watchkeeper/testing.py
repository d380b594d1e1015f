"""Builders and fakes for your own tests (shipped, so agent code can test its guards).

from watchkeeper.testing import FixedAnalyzer, action, effect, gateway_for

gw = gateway_for("rules: [{name: no-drops, match: {verb: delete}, decision: deny}]",
                 FixedAnalyzer(effect("delete", "db_table", "users"), tools=["sql"]))
assert gw.decide(action("sql", query="DROP TABLE users")).decision == "deny"
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from watchkeeper.analyzers import Registry
from watchkeeper.gateway import Gateway
from watchkeeper.models import Action, Effect, Target
from watchkeeper.orders.loader import load_text


def action(
    tool: str,
    *,
    agent: str | None = None,
    environment: str | None = None,
    session: str | None = None,
    **input: Any,
) -> dict[str, Any]:
    """An action in its JSON form; keyword arguments become its ``input``."""
    out: dict[str, Any] = {"tool": tool, "input": input}
    for key, value in (("agent", agent), ("environment", environment), ("session", session)):
        if value is not None:
            out[key] = value
    return out


def effect(
    verb: str,
    kind: str,
    id: str | None = None,
    *,
    reversible: str = "unknown",
    flags: Iterable[str] = (),
    **attributes: Any,
) -> Effect:
    """An effect, as an analyzer would report it."""
    return Effect(
        verb=verb,
        target=Target(kind, id),
        reversible=reversible,
        flags=frozenset(flags),
        attributes=attributes,
        analyzer="fixed",
    )


class FixedAnalyzer:
    """An analyzer that reports the same effects for every call of its tools (``tools``: for
    :func:`gateway_for`; register it yourself for others)."""

    def __init__(self, *effects: Effect, tools: Sequence[str] = (), name: str = "fixed") -> None:
        self.effects = list(effects)
        self.tools = list(tools)
        self.name = name

    def analyze(self, action: Action) -> Sequence[Effect]:
        """The same effects, whatever the action."""
        return list(self.effects)


def gateway_for(orders_yaml: str, *analyzers: FixedAnalyzer) -> Gateway:
    """A gateway over standing orders given as YAML text, with these analyzers registered."""
    registry = Registry()
    for analyzer in analyzers:
        registry.register(analyzer, tools=analyzer.tools)
    return Gateway(load_text(orders_yaml, "<test orders>"), registry)
