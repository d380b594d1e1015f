"""Analyzers turn an action's input into effects. The registry picks them and keeps them honest.

An analyzer is any object with a ``name`` and a pure ``analyze(action) -> list[Effect]``. It never
trusts the agent's description of itself. Built-in analyzers register exactly as a third-party one
would::

    registry = Registry()
    registry.register(MyShellAnalyzer(), tools=["shell", "bash"])

Bounds: the action's input may not exceed ``max_input_bytes`` (checked before any analyzer runs),
an analyzer may return at most ``max_effects`` effects, and one whose own work takes longer than
``budget_seconds`` of CPU time, or that runs past four times that on the clock, is treated as
failed (see :mod:`~watchkeeper.analyzers.clock`). Python cannot pre-empt a running function, so the
time budget is checked when the analyzer returns; analyzers must bound their own work (parsers take
timeouts, loops take limits). Every effect must be spelled in the vocabulary of SPEC §6 (see
:mod:`~watchkeeper.analyzers.effects`): a target kind outside it is allowed only when the analyzer
lists it in a ``target_kinds`` attribute, as a declared tool's analyzer does for the kind its
declaration names. Any failure raises :class:`AnalyzerError`, which the gateway turns into
``deny``; an analyzer that cannot read an input raises it too, with a message that says why, and
that message is kept as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from watchkeeper.analyzers import clock
from watchkeeper.analyzers.effects import outside
from watchkeeper.config import Limits
from watchkeeper.errors import AnalyzerError, UsageError, describe
from watchkeeper.models import Action, Effect, Target


@runtime_checkable
class Analyzer(Protocol):
    """What every analyzer provides."""

    name: str

    def analyze(self, action: Action) -> Sequence[Effect]: ...


def unknown_effect(action: Action, why: str) -> Effect:
    """The effect of a tool nobody describes: it could do anything."""
    return Effect(
        verb="unknown",
        target=Target("unknown", action.tool),
        reversible="unknown",
        recovery=None,
        attributes={"why": why},
        analyzer="unknown",
    )


class Registry:
    """Which analyzers know which tools."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._by_tool: dict[str, list[Analyzer]] = {}

    def register(self, analyzer: Analyzer, *, tools: Iterable[str]) -> None:
        """Make ``analyzer`` analyze every call of the named tools."""
        if not isinstance(analyzer, Analyzer):
            raise UsageError(
                f"{analyzer!r} is not an analyzer: give it a 'name' and an "
                "'analyze(action) -> list[Effect]' method"
            )
        names = list(tools)
        if not names:
            raise UsageError(f"register({analyzer.name!r}, tools=[…]) needs at least one tool name")
        for tool in names:
            self._by_tool.setdefault(tool, []).append(analyzer)

    def analyzers_for(self, tool: str) -> list[Analyzer]:
        """The analyzers registered for ``tool``, in registration order."""
        return list(self._by_tool.get(tool, ()))

    def run(self, analyzer: Analyzer, action: Action) -> list[Effect]:
        """Run one analyzer within its bounds; raise :class:`AnalyzerError` on any failure."""
        watch = clock.Stopwatch()
        try:
            effects = analyzer.analyze(action)
        except AnalyzerError:  # the analyzer's own account of why it cannot analyze the action
            raise
        except Exception as exc:
            raise AnalyzerError(
                f"analyzer {analyzer.name!r} failed on tool {action.tool!r}: {describe(exc)}"
            ) from exc
        # The analyzer's own work: CPU time, less imports and collections (see clock.py).
        cpu, wall = watch.elapsed()
        budget = self.limits.budget_seconds
        if cpu > budget:
            raise AnalyzerError(
                f"analyzer {analyzer.name!r} took {cpu * 1000:.0f} ms, over its "
                f"{budget * 1000:.0f} ms budget"
            )
        if wall > budget * clock.WALL_FACTOR:
            raise AnalyzerError(
                f"analyzer {analyzer.name!r} took {wall * 1000:.0f} ms on the clock, over "
                f"{clock.WALL_FACTOR:g} times its {budget * 1000:.0f} ms budget: it waited "
                "on something"
            )
        if not isinstance(effects, list | tuple) or not all(isinstance(e, Effect) for e in effects):
            raise AnalyzerError(
                f"analyzer {analyzer.name!r} returned {type(effects).__name__}, "
                "not a list of Effect"
            )
        own = getattr(analyzer, "target_kinds", ())
        for effect in effects:
            # A verb, target kind or flag outside the vocabulary is one no rule selects: the
            # effect would pass every rule unseen, so the analysis fails instead.
            problems = effect.problems() or outside(effect, own)
            if problems:
                raise AnalyzerError(
                    f"analyzer {analyzer.name!r} returned a malformed effect: {'; '.join(problems)}"
                )
        if len(effects) > self.limits.max_effects:
            raise AnalyzerError(
                f"analyzer {analyzer.name!r} returned {len(effects)} effects, over the "
                f"limit of {self.limits.max_effects}"
            )
        return list(effects)

    def check_size(self, action: Action, size: int) -> None:
        """Refuse an input of ``size`` canonical JSON bytes over the limit."""
        if size > self.limits.max_input_bytes:
            raise AnalyzerError(
                f"the action's input is {size} bytes, over the {self.limits.max_input_bytes}-byte "
                "limit analyzers accept; split the action or raise the limit"
            )
