"""Watch rules and the business calendar, compiled from ``watch:`` and ``calendar:``.

A watch rule's condition is CEL over four variables (docs/watch.md lists every field):

- ``event``: what just happened: an ``action`` (decided) or a ``vote`` (cast by a person);
- ``window``: counts over the rule's ``window`` for the event's ``scope`` (its agent, session,
  tool, target or approver), the current event included;
- ``agent``: the agent's record, as rules see it;
- ``clock``: where the event falls in the business calendar.

Rules that see the same events over the same scope and window share one window and one engine
call (:class:`WatchPlan`): a watch pack costs about one query and one evaluation per window,
not per rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cel_expr_python import cel
from cel_expr_python.ext import ext_bindings, ext_strings

from watchkeeper.models import FLAGS, VERBS
from watchkeeper.orders.cel import CompileError, ConditionSet, compile_expression
from watchkeeper.orders.document import Compiler, Document, first_use
from watchkeeper.orders.model import Calendar, WatchRule
from watchkeeper.orders.schema import WEEKDAYS
from watchkeeper.orders.source import Mark
from watchkeeper.wording import suggest

WATCH_VARIABLES = ("event", "window", "agent", "clock")
_DYN_MAP = cel.Type.Map(cel.Type.STRING, cel.Type.DYN)
WATCH_ENV = cel.NewEnv(
    variables=dict.fromkeys(WATCH_VARIABLES, _DYN_MAP),
    extensions=[ext_strings.ExtStrings(), ext_bindings.ExtBindings()],
)

#: Tags an event carries (``event.tags``) and ``window.tags`` counts: its effects' verbs and
#: flags, ``write`` (any effect that is not a read), ``irreversible`` (a write nobody is known to
#: be able to undo) and its decision (``allowed``, ``asked``, ``denied``).
TAGS: tuple[str, ...] = (
    *VERBS, *FLAGS, "write", "irreversible", "allowed", "asked", "denied",
)  # fmt: skip

#: What ``window`` holds, and what each costs: the counts come from one query; the others
#: read more and are worked out only for rules that name them.
WINDOW_COUNTS = (
    "count", "allowed", "asked", "denied", "irreversible", "targets", "rate", "tags",
    "approved", "seconds",
)  # fmt: skip
WINDOW_EXTRAS = ("similar_denied", "first_target", "review_median")
WINDOW_FIELDS = WINDOW_COUNTS + WINDOW_EXTRAS

#: What ``event`` holds (docs/watch.md says what each means).
EVENT_FIELDS = (
    "kind", "agent", "owner", "session", "tool", "environment", "decision", "rules", "verbs",
    "targets", "target", "tags", "irreversible", "text", "approval", "approver", "vote",
    "requester", "review_seconds", "opened", "level", "pending_seconds", "outcome",
    "released", "at",
)  # fmt: skip
_EVENT_FIELD = re.compile(r"\bevent\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_WINDOW_FIELD = re.compile(r"\bwindow\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_WINDOW_ANY = re.compile(r"\bwindow\b(?!\s*\.)")


def window_reads(text: str) -> frozenset[str]:
    """The ``window`` fields a condition reads (all of them if it reads ``window`` whole)."""
    if _WINDOW_ANY.search(text):
        return frozenset(WINDOW_FIELDS)
    return frozenset(_WINDOW_FIELD.findall(text))


@dataclass(frozen=True, slots=True)
class WatchGroup:
    """Watch rules that see the same events over the same scope and window."""

    on: str
    scope: str
    window: int
    rules: tuple[WatchRule, ...]
    conditions: ConditionSet
    reads: frozenset[str]
    #: Each rule's guard (see :func:`guard_of`), by position; the rules without one are not
    #: in ``guarded``.
    guards: ConditionSet | None = None
    guarded: tuple[int, ...] = ()

    def run(self, data: dict[str, Any]) -> list[bool | str]:
        """Each rule's verdict on ``data``: ``True``, ``False`` or an error."""
        return self.conditions.run(tuple(range(len(self.rules))), data)

    def worth(self, data: dict[str, Any]) -> bool:
        """Whether any rule may match ``data`` (without ``window``): one without a guard, or
        one whose guard is not false (an error counts as maybe: the full condition decides)."""
        if self.guards is None or len(self.guarded) < len(self.rules):
            return True
        return any(v is not False for v in self.guards.run(self.guarded, data))


@dataclass(frozen=True, slots=True)
class WatchPlan:
    """The watch rules of one set of standing orders, grouped for evaluation by event kind."""

    groups: dict[str, tuple[WatchGroup, ...]]
    #: The longest window or cooldown: how long events and alerts must be kept.
    horizon: int
    #: Whether any condition reads ``clock`` (placing a moment in a time zone is not free).
    reads_clock: bool = True

    def for_event(self, kind: str) -> tuple[WatchGroup, ...]:
        return self.groups.get(kind, ())


def plan(rules: Sequence[WatchRule]) -> WatchPlan | None:
    """Group ``rules`` by what they see; ``None`` when there are none."""
    if not rules:
        return None
    grouped: dict[tuple[str, str, int], list[WatchRule]] = {}
    for rule in rules:
        for on in sorted(rule.on):
            grouped.setdefault((on, rule.scope, rule.window), []).append(rule)
    groups: dict[str, list[WatchGroup]] = {}
    for (on, scope, window), members in grouped.items():
        programs = [compile_expression(r.when, boolean=True, env=WATCH_ENV,
                                       variables=WATCH_VARIABLES) for r in members]  # fmt: skip
        conditions = ConditionSet([r.when for r in members], programs, env=WATCH_ENV)
        reads = frozenset().union(*(r.reads for r in members))
        texts = [guard_of(r.when) for r in members]
        compiled = [compile_expression(t, boolean=True, env=WATCH_ENV, variables=WATCH_VARIABLES)
                    if t else None for t in texts]  # fmt: skip
        guarded = tuple(n for n, p in enumerate(compiled) if p is not None
                        and not isinstance(p, CompileError))  # fmt: skip
        guards = (ConditionSet([t if n in guarded else None for n, t in enumerate(texts)],
                               compiled, env=WATCH_ENV) if guarded else None)  # fmt: skip
        groups.setdefault(on, []).append(
            WatchGroup(on, scope, window, tuple(members), conditions, reads, guards, guarded)
        )
    horizon = max(max(r.window, r.cooldown) for r in rules)
    clock = any(re.search(r"\bclock\b", r.when) for r in rules)
    return WatchPlan({k: tuple(v) for k, v in groups.items()}, horizon, clock)


def guard_of(text: str) -> str | None:
    """The conjuncts of a condition that read no ``window``, as one condition: when they are
    false the whole is false (``a && b`` is false when ``a`` is, whatever ``b`` is), and the
    window need not be read. ``None`` when the condition is not a top-level ``&&`` of some
    conjuncts that read a window and some that do not."""
    parts: list[str] = []
    depth, start, quote, n = 0, 0, "", 0
    while n < len(text):
        c = text[n]
        if quote:
            if c == "\\":
                n += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif (depth == 0 and text.startswith("||", n)) or (depth == 0 and c == "?"):
            return None  # a disjunction or a choice at the top: no guard to take out
        elif depth == 0 and text.startswith("&&", n):
            parts.append(text[start:n])
            start, n = n + 2, n + 1
        n += 1
    parts.append(text[start:])
    free = [p.strip() for p in parts if not _WINDOW.search(p)]
    if not free or len(free) == len(parts):
        return None
    return " && ".join(f"({p}\n)" for p in free)


_WINDOW = re.compile(r"\bwindow\b")


def compile_calendar(doc: Document | None, value: dict[str, Any] | None) -> Calendar:
    """The business calendar (the default, Monday to Friday 09:00–18:00 UTC, if none)."""
    if doc is None or not value:
        return Calendar()
    zone = value.get("timezone") or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        doc.v.error(
            ("calendar", "timezone"),
            f"unknown time zone {zone!r}; use an IANA name such as Europe/Berlin or UTC",
        )
        zone = "UTC"
    start, end = 9 * 60, 18 * 60
    hours = value.get("hours")
    if hours:
        first, last = hours.split("-")
        parsed = [_minutes(first), _minutes(last)]
        if None in parsed or parsed[0] == parsed[1]:
            doc.v.error(
                ("calendar", "hours"),
                f"hours {hours!r} is not a span of the day; write it like 09:00-18:00",
            )
        else:
            start, end = parsed[0] or 0, parsed[1] or 0
    days = value.get("days") or ["mon", "tue", "wed", "thu", "fri"]
    holidays = frozenset(value.get("holidays") or ())
    for n, day in enumerate(value.get("holidays") or ()):
        if not _is_date(day):
            doc.v.error(("calendar", "holidays", n), f"{day!r} is not a date; write 2026-12-25")
    return Calendar(zone, frozenset(WEEKDAYS.index(d) for d in days), start, end, holidays)


def _minutes(text: str) -> int | None:
    hour, minute = (int(p) for p in text.split(":"))
    return hour * 60 + minute if hour <= 24 and minute < 60 and hour * 60 + minute <= 1440 else None


def _is_date(text: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def compile_watch(
    c: Compiler, channels: Sequence[str], check_channel: Callable[..., None]
) -> list[WatchRule]:
    """The watch rules of every document, in order; errors recorded where they are written."""
    del channels  # checked through check_channel, which knows them
    rules: list[WatchRule] = []
    seen: dict[str, Mark] = {}
    for i, doc in enumerate(c.docs):
        for n, value in enumerate(doc.data.get("watch") or []):
            if not isinstance(value, dict):
                continue
            path = ("watch", n)
            name = value.get("name")
            unique = name is None or first_use(
                doc, seen, name, doc.v.mark((*path, "name")), "watch rule",
                "watch rule names must be unique so alerts can cite them",
            )  # fmt: skip
            when = value.get("when")
            compiled = when is not None and c.compile_cel(
                i, (*path, "when"), when, "watch condition", boolean=True,
                env=WATCH_ENV, variables=WATCH_VARIABLES,
            ) is not None  # fmt: skip
            for k, channel in enumerate(value.get("notify") or []):
                check_channel(doc, (*path, "notify", k), channel)
            on = frozenset(value.get("on") or ["action"])
            scope = value.get("scope") or "agent"
            _check_scope(doc, path, on, scope, value.get("pause"), value.get("tighten"))
            if when is not None:
                _check_reads(doc, path, when)
            if not compiled or when is None or name is None or not unique:
                continue
            window = int(value.get("window") or 600)
            mark = doc.v.mark(path)
            rules.append(
                WatchRule(
                    name=name,
                    on=on,
                    scope=scope,
                    window=window,
                    when=when,
                    severity=value.get("severity") or "medium",
                    cooldown=int(value.get("cooldown") or window),
                    notify=tuple(value["notify"]) if value.get("notify") is not None else None,
                    pause=value.get("pause"),
                    tighten=value.get("tighten"),
                    incident=value.get("incident") is True,
                    owner=value.get("owner"),
                    description=value.get("description"),
                    reason=value.get("reason"),
                    reads=window_reads(when),
                    source=f"{mark.file}:{mark.line}:{mark.col}",
                )
            )
    return rules


def _check_scope(
    doc: Document,
    path: tuple[Any, ...],
    on: frozenset[str],
    scope: str,
    pause: str | None,
    tighten: str | None,
) -> None:
    """A window, a pause or a tightening over something the rule's events do not carry can
    never work: refused at load, saying what would."""
    carry = {"action": {"agent", "session", "tool", "target", "all"},
             "vote": {"agent", "session", "approver", "all"},
             "escalation": {"agent", "session", "all"},
             "outcome": {"agent", "session", "tool", "target", "all"}}  # fmt: skip
    for kind in sorted(on):
        if scope not in carry[kind]:
            doc.v.error(
                (*path, "scope"),
                f"scope: {scope} counts what {kind} events do not carry; for on: {kind} use "
                f"{', '.join(sorted(carry[kind]))}",
            )
    for key, value in (("pause", pause), ("tighten", tighten)):
        if value is None or value == "all":
            continue
        missing = sorted(kind for kind in on if value not in carry[kind])
        if missing:
            doc.v.error(
                (*path, key),
                f"{key}: {value} names what {' and '.join(missing)} events do not carry; "
                f"this rule sees {', '.join(sorted(on))}",
            )


def _check_reads(doc: Document, path: tuple[Any, ...], when: str) -> None:
    """A field name the stream never carries is a typo: refused at load, not false forever."""
    where = (*path, "when")
    node = doc.v.nodes.get(where)
    for pattern, known, what in (
        (_EVENT_FIELD, EVENT_FIELDS, "event"),
        (_WINDOW_FIELD, WINDOW_FIELDS, "window"),
    ):
        for found in pattern.finditer(when):
            name = found.group(1)
            if name in known:
                continue
            mark = node.position_of(found.start(1)) if node is not None else None
            doc.v.issues.append(
                (mark or doc.v.mark(where)).issue(
                    f"{what} has no field {name!r}{suggest(name, list(known))}; it has "
                    f"{', '.join(known)}"
                )
            )
