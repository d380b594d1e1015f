"""Compiled standing orders: what the loader produces and the evaluator reads.

Everything here is immutable after load; one ``StandingOrders`` may serve many threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from watchkeeper.decision import ApprovalRequirement, DecisionKind
from watchkeeper.errors import Issue, UsageError
from watchkeeper.orders.cel import ConditionSet
from watchkeeper.orders.index import RuleIndex
from watchkeeper.orders.source import Mark

#: What a declared tool's input field may carry: the ``analyze:`` keys, one per analyzer.
CodeKind = Literal["sql", "shell", "terraform_plan"]


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    default: DecisionKind
    match: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    description: str | None = None
    #: Actions nothing places are judged here (and where they are placed or claimed), not in
    #: every declared environment.
    unplaced: bool = False


@dataclass(frozen=True, slots=True)
class Charter:
    """``None`` in a field means the charter does not restrict that dimension."""

    tools: frozenset[str] | None = None
    environments: frozenset[str] | None = None
    intents: frozenset[str] | None = None
    limits: Mapping[tuple[str, str], float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    owner: str | None = None
    description: str | None = None
    charter: Charter | None = None
    outside_charter: DecisionKind = "ask"

    def to_cel(self) -> dict[str, Any]:
        """The map CEL conditions see as ``agent``."""
        charter: dict[str, Any] = {}
        if self.charter is not None:
            c = self.charter
            charter = {
                "tools": sorted(c.tools) if c.tools is not None else [],
                "environments": sorted(c.environments) if c.environments is not None else [],
                "intents": sorted(c.intents) if c.intents is not None else [],
                "limits": {f"{t}.{f}": v for (t, f), v in c.limits.items()},
            }
        return {"name": self.name, "owner": self.owner or "", "charter": charter}


@dataclass(frozen=True, slots=True)
class Attribute:
    """A declared tool attribute: a dotted ``input.a.b`` path (fast) or a CEL program."""

    name: str
    expression: str
    path: tuple[str, ...] | None
    program: Any


@dataclass(frozen=True, slots=True)
class CodeField:
    """An input field that carries code (``analyze: {sql: input.sql}``), read by that analyzer."""

    kind: CodeKind
    expression: str  # as written: ``input.sql``
    path: tuple[str, ...]  # ``("sql",)``
    dialect: str | None = None  # for SQL; ``None`` is the analyzer's default

    @property
    def field(self) -> str:
        """The field's path inside the input, as effects' spans name it (``sql``, ``a.b``)."""
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class ToolDecl:
    name: str
    verb: str
    target: str
    scope: str = "one"
    reversible: str = "unknown"
    recovery: str | None = None
    flags: frozenset[str] = frozenset()
    id: Attribute | None = None
    attributes: tuple[Attribute, ...] = ()
    #: Fields analyzed as code; ``None`` when the declaration says nothing (``analyze:`` absent),
    #: ``()`` when it says the tool carries none (``analyze: {}``).
    code: tuple[CodeField, ...] | None = None
    where: Mark | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Selector:
    """Empty tuple means "any". Values may be glob patterns for ``tools`` and ``agents``."""

    tools: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    index: int
    name: str
    decision: DecisionKind
    selector: Selector
    when: str | None = None
    uses: frozenset[str] = frozenset()
    #: The condition's answer does not depend on the environment it is judged in.
    environment_free: bool = True
    #: The condition reads effects but nothing else that carries the environment.
    reads_effects_only: bool = True
    owner: str | None = None
    description: str | None = None
    reason: str | None = None
    instructions: str | None = None
    approvals: tuple[ApprovalRequirement, ...] = ()
    source: str = ""  # file:line:col where the rule is written
    sentence: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once at load: the hot path only reads it.
        object.__setattr__(self, "sentence", self._sentence())

    def selected(self) -> list[str]:
        """What the rule's ``match:`` selects, as words: ``["tool shell", "verb delete"]``
        (nothing: every action)."""
        s = self.selector
        return [
            f"{label} {'/'.join(values)}"
            for label, values in (
                ("tool", s.tools),
                ("environment", s.environments),
                ("agent", s.agents),
                ("verb", s.verbs),
                ("target", s.targets),
            )
            if values
        ]

    def _sentence(self) -> str:
        """The reason shown when the rule matches: its own ``reason``, or what it matched."""
        if self.reason:
            return self.reason
        verb = {"allow": "allows", "ask": "asks for approval", "deny": "denies"}[self.decision]
        parts = self.selected()
        if self.when:
            when = self.when if len(self.when) <= 80 else self.when[:77] + "..."
            parts.append(f"when {when}")
        return f"rule {self.name!r} {verb}" + (f": {', '.join(parts)}" if parts else "")


@dataclass(frozen=True, slots=True)
class Calendar:
    """Business hours: ``clock`` says where a moment falls (watch rules read it as ``clock``)."""

    timezone: str = "UTC"
    #: Working days, Monday = 0.
    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    #: Working hours in minutes after midnight, ``start`` included, ``end`` not.
    start: int = 9 * 60
    end: int = 18 * 60
    holidays: frozenset[str] = frozenset()

    def clock(self, at: float) -> dict[str, Any]:
        """``{"business_hours", "hour", "minute", "weekday", "date"}`` at Unix time ``at``,
        in the calendar's time zone (``weekday``: ``mon`` … ``sun``)."""
        from datetime import datetime
        from zoneinfo import ZoneInfo

        local = datetime.fromtimestamp(at, ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        date = local.date().isoformat()
        working = (
            local.weekday() in self.days
            and date not in self.holidays
            and (self.start <= minute < self.end if self.start <= self.end
                 else minute >= self.start or minute < self.end)
        )  # fmt: skip
        return {
            "business_hours": working,
            "hour": local.hour,
            "minute": local.minute,
            "weekday": ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()],
            "date": date,
        }


@dataclass(frozen=True, slots=True)
class WatchRule:
    """A condition over the stream (SPEC §10): when it holds for an event, an alert is raised,
    told to ``notify`` (``None``: every channel); with ``pause``, that much is paused, with
    ``tighten``, that much asks (or needs a second approver) until a person clears it."""

    name: str
    on: frozenset[str]
    scope: str
    window: int  # seconds
    when: str
    severity: str = "medium"
    cooldown: int = 600  # seconds
    notify: tuple[str, ...] | None = None
    pause: str | None = None
    tighten: str | None = None
    incident: bool = False
    owner: str | None = None
    description: str | None = None
    reason: str | None = None
    #: The ``window.*`` fields the condition reads: only those are worked out.
    reads: frozenset[str] = frozenset()
    source: str = ""  # file:line:col where the rule is written

    @property
    def sentence(self) -> str:
        """What the alert says: the rule's ``reason``, or its condition."""
        return self.reason or f"watch rule {self.name!r} matched: {self.when}"


@dataclass(frozen=True, slots=True)
class StandingOrders:
    """Compiled standing orders: immutable, shared by every decision."""

    environments: Mapping[str, Environment]
    groups: Mapping[str, tuple[str, ...]]
    agents: Mapping[str, Agent]
    tools: Mapping[str, ToolDecl]
    rules: tuple[Rule, ...]
    digest: str
    sources: tuple[str, ...]
    index: RuleIndex
    conditions: ConditionSet
    #: Environment names whose default is the most restrictive; used for unknown environments.
    strictest: tuple[str, ...] = ()
    #: The environment that says ``unplaced: true``, if any.
    fallback: str | None = None
    #: Things that load but are probably mistakes; ``watchkeeper lint`` shows them.
    warnings: tuple[Issue, ...] = ()
    #: Notification channels by name: ``{"type": "webhook", "url": …}`` as written (secrets
    #: stay ``$env:NAME`` references until a notification is sent).
    channels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Watch rules, in the order written, and what evaluates them (``None``: there are none).
    watch: tuple[WatchRule, ...] = ()
    watching: Any = None
    calendar: Calendar = field(default_factory=Calendar)

    def rule(self, name: str) -> Rule:
        """The rule called ``name``; ``UsageError`` naming the rules there are otherwise."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        known = ", ".join(r.name for r in self.rules) or "none"
        raise UsageError(f"no rule named {name!r} in these standing orders (rules: {known})")
