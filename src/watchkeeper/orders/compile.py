"""From validated documents to :class:`StandingOrders`: cross-references, rules, the index.

Every problem is collected, never the first only: unknown groups, quorums larger than their group,
duplicate names, unknown environments, CEL that does not compile (with a caret under the error).
Tools and agents compile in :mod:`~watchkeeper.orders.declarations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from watchkeeper.canonical import digest
from watchkeeper.decision import RESTRICTIVENESS, ApprovalRequirement, DecisionKind, Escalation
from watchkeeper.models import TARGET_KINDS
from watchkeeper.orders.cel import (
    ConditionSet,
    compile_expression,
    environment_free,
    reads_effects_only,
    variables_used,
)
from watchkeeper.orders.declarations import compile_agent, compile_tool
from watchkeeper.orders.document import Compiler, Document, first_use, named_section
from watchkeeper.orders.index import RuleIndex, is_pattern
from watchkeeper.orders.model import Environment, Rule, Selector, StandingOrders
from watchkeeper.orders.source import Mark
from watchkeeper.orders.validate import Path
from watchkeeper.orders.watch import compile_calendar, compile_watch, plan
from watchkeeper.wording import plural, suggest

DEFAULT_TIMEOUT = 3600


#: What each channel type cannot work without.
CHANNEL_NEEDS = {"webhook": ("url",), "slack": ("url",), "email": ("to", "from", "smtp")}


def compile_orders(docs: Sequence[Document], sources: Sequence[str]) -> StandingOrders | None:
    """Build standing orders; return ``None`` if any issue was recorded in the documents."""
    c = Compiler(docs)
    declared = [(i, name, value) for i, name, value in named_section(docs, "environments")]
    environments = {
        name: Environment(
            name=name,
            default=cast(DecisionKind, value.get("default", "ask")),
            match={k: tuple(v) for k, v in (value.get("match") or {}).items()},
            description=value.get("description"),
            unplaced=value.get("unplaced") is True,
        )
        for _, name, value in declared
        if value is not None
    }
    fallbacks = [(i, name) for i, name, value in declared if value and value.get("unplaced")]
    for i, name in fallbacks[1:]:
        docs[i].v.error(
            ("environments", name, "unplaced"),
            f"environment {name!r} says unplaced: true, and so does {fallbacks[0][1]!r}; "
            "only one environment can take what nothing places",
        )
    groups = {name: tuple(value or ()) for _, name, value in named_section(docs, "groups")}
    channels: dict[str, dict[str, Any]] = {}
    for i, name, value in named_section(docs, "channels"):
        if value is None:
            continue
        needs = CHANNEL_NEEDS.get(value.get("type") or "", ())
        missing = [key for key in needs if not value.get(key)]
        if missing:
            docs[i].v.error(
                ("channels", name),
                f"channel {name!r} ({value.get('type')}) needs {', '.join(missing)}; add "
                + " and ".join(f"'{key}:'" for key in missing),
                key=True,
            )
        channels[name] = dict(value)
    env_names = list(environments)

    def check_channel(doc: Document, path: Path, channel: str) -> None:
        if channel not in channels:
            known = ", ".join(channels) or "none"
            doc.v.error(
                path,
                f"unknown channel {channel!r}{suggest(channel, list(channels))}; "
                f"declare it under channels: (declared: {known})",
            )

    def check_env(doc: Document, path: Path, name: str) -> None:
        if name in environments:
            return
        if not environments:
            doc.v.error(
                path,
                f"unknown environment {name!r}: no environments are declared; "
                f"declare it under environments:",
            )
            return
        doc.v.error(
            path,
            f"unknown environment {name!r}{suggest(name, env_names)}; "
            f"declared: {', '.join(env_names)}",
        )

    def check_group(
        doc: Document,
        path: Path,
        name: str,
        quorum: int | None = None,
        at: Path | None = None,
        users: Sequence[str] = (),
    ) -> None:
        if name not in groups:
            known = ", ".join(groups) or "none"
            doc.v.error(
                path,
                f"unknown group {name!r}{suggest(name, list(groups))}; declare it under "
                f"groups: (declared: {known})",
            )
        elif quorum is not None and quorum > len(set(groups[name]) | set(users)):
            doc.v.error(
                at or path,
                f"quorum {quorum} is larger than group {name!r}, which has "
                f"{plural(len(groups[name]), 'member')}"
                + (
                    f" (with the listed users, {len(set(groups[name]) | set(users))})"
                    if users
                    else ""
                )
                + "; lower the quorum or add members",
            )

    tools = {}
    for i, name, value in named_section(docs, "tools"):
        if value is None:
            continue
        tools[name] = compile_tool(c, i, name, value)

    agents = {}
    for i, name, value in named_section(docs, "agents"):
        if value is None:
            continue
        agents[name] = compile_agent(docs[i], name, value, check_env, set(tools))

    known_tools = set(tools) | {
        t for a in agents.values() if a.charter and a.charter.tools for t in a.charter.tools
    }
    rules: list[Rule] = []
    first_rule: dict[str, Mark] = {}
    for i, doc in enumerate(docs):
        for r, value in enumerate(doc.data.get("rules") or []):
            if not isinstance(value, dict):
                continue
            path: Path = ("rules", r)
            rule_name = value.get("name")
            unique = rule_name is None or first_use(
                doc,
                first_rule,
                rule_name,
                doc.v.mark((*path, "name")),
                "rule",
                "rule names must be unique so decisions can cite them",
            )
            # Check the whole rule even when it cannot be kept: no error hides another.
            rule = _rule(c, i, path, len(rules), value, check_env, check_group)
            for n, channel in enumerate(value.get("notify") or []):
                check_channel(doc, (*path, "notify", n), channel)
            _warn_selectors(doc, path, value, known_tools, set(agents))
            if rule is not None and unique:
                rules.append(rule)

    watch = compile_watch(c, list(channels), check_channel)
    calendars = [(doc, doc.data["calendar"]) for doc in docs if doc.data.get("calendar")]
    for doc, _ in calendars[1:]:
        doc.v.error(
            ("calendar",),
            "a second calendar: the standing orders have one business calendar; keep one",
            key=True,
        )
    calendar = compile_calendar(*(calendars[0] if calendars else (None, None)))

    if any(doc.v.issues for doc in docs):
        return None
    warnings = [w for doc in docs for w in doc.v.warnings]
    if not rules:
        warnings.append(
            Mark(sources[0] if sources else "<orders>", 1, 1).issue(
                "no rules: every action gets its environment's default"
            )
        )
    strictest_level = max((RESTRICTIVENESS[e.default] for e in environments.values()), default=0)
    return StandingOrders(
        environments=environments,
        groups=groups,
        channels=channels,
        agents=agents,
        tools=tools,
        rules=tuple(rules),
        digest=digest([doc.data for doc in docs]),
        sources=tuple(sources),
        index=RuleIndex(
            [r.selector.tools for r in rules],
            [r.selector.environments for r in rules],
            [r.selector.agents for r in rules],
            [r.selector.verbs for r in rules],
            [r.selector.targets for r in rules],
        ),
        conditions=ConditionSet(
            [r.when for r in rules],
            [compile_expression(r.when, boolean=True) if r.when else None for r in rules],
        ),
        warnings=tuple(sorted(warnings, key=lambda w: (w.file, w.line, w.col))),
        strictest=tuple(
            n for n, e in environments.items() if RESTRICTIVENESS[e.default] == strictest_level
        ),
        fallback=fallbacks[0][1] if fallbacks else None,
        watch=tuple(watch),
        watching=plan(watch),
        calendar=calendar,
    )


def _warn_selectors(
    doc: Document, path: Path, value: dict[str, Any], tools: set[str], agents: set[str]
) -> None:
    """Selector names that match nothing declared but nearly match something: likely typos."""
    match = value.get("match") or {}
    checks: list[tuple[str, set[str], bool]] = [
        ("tool", tools, False),
        ("agent", agents, bool(agents)),
        ("target", set(TARGET_KINDS) | known_targets(doc), False),
    ]
    for key, known, strict in checks:
        for e, name in enumerate(match.get(key) or []):
            if name is None or name in known or is_pattern(name):
                continue
            hint = suggest(name, sorted(known))
            if hint:
                doc.v.warn((*path, "match", key, e), f"{key} {name!r} is not declared{hint}")
            elif strict:
                doc.v.warn(
                    (*path, "match", key, e),
                    f"agent {name!r} is not declared under agents:, so this rule can only match "
                    "undeclared agents",
                )


def known_targets(doc: Document) -> set[str]:
    """Target kinds the document's tool declarations use."""
    return {t["target"] for t in (doc.data.get("tools") or {}).values() if t and t.get("target")}


def _rule(
    c: Compiler,
    i: int,
    path: Path,
    index: int,
    value: dict[str, Any],
    check_env: Any,
    check_group: Any,
) -> Rule | None:
    doc = c.docs[i]
    match = value.get("match") or {}
    for key, values in match.items():
        if values == []:
            doc.v.error(
                (*path, "match", key),
                f"an empty {key} list matches nothing; remove '{key}' to match any {key}, "
                "or list the names to match",
            )
    for e, env in enumerate(match.get("environment") or []):
        if env is not None:
            check_env(doc, (*path, "match", "environment", e), env)
    when = value.get("when")
    compiled = True
    if when is not None:
        compiled = c.compile_cel(i, (*path, "when"), when, "condition", boolean=True) is not None
    timeout = value.get("timeout") or DEFAULT_TIMEOUT
    escalations = []
    for e, step in enumerate(value.get("escalate") or []):
        if step and step.get("to") and step.get("after"):
            check_group(doc, (*path, "escalate", e, "to"), step["to"])
            escalations.append(Escalation(step["after"], step["to"]))
            if step["after"] >= timeout:
                doc.v.error(
                    (*path, "escalate", e, "after"),
                    f"escalation after {step['after']}s never happens: the approval times out "
                    f"after {timeout}s; shorten 'after' or lengthen 'timeout'",
                )
    decision = value.get("decision")
    approvals = []
    for a, spec in enumerate(value.get("approvers") or []):
        if not spec:
            continue
        quorum = spec.get("quorum") or 1
        group = spec.get("group")
        users = tuple(spec.get("users") or ())
        if group is not None:
            # The group's members and the listed users together are who may approve.
            base = (*path, "approvers", a)
            quorum_at = (*base, "quorum") if "quorum" in spec else None
            check_group(doc, (*base, "group"), group, quorum, quorum_at, users)
        elif users and quorum > len(users):
            doc.v.error(
                (*path, "approvers", a, "quorum"),
                f"quorum {quorum} is larger than the {plural(len(users), 'listed user')}; "
                "lower the quorum or list more users",
            )
        approvals.append(
            ApprovalRequirement(
                rule=value.get("name") or "",
                quorum=quorum,
                group=group,
                users=users,
                timeout_seconds=timeout,
                on_timeout=value.get("on_timeout") or "deny",
                escalate=tuple(escalations),
                notify=tuple(value.get("notify") or ()),
            )
        )
    if decision is not None and decision != "ask" and value.get("approvers"):
        doc.v.error(
            (*path, "approvers"),
            f"approvers only apply to decision: ask, but this rule decides {decision}; "
            "remove them or change the decision",
            key=True,
        )
    if decision == "ask" and not approvals:
        approvals.append(
            ApprovalRequirement(
                rule=value.get("name") or "",
                timeout_seconds=timeout,
                on_timeout=value.get("on_timeout") or "deny",
                escalate=tuple(escalations),
                notify=tuple(value.get("notify") or ()),
            )
        )
    if value.get("on_timeout") == "escalate" and not escalations:
        doc.v.error(
            (*path, "on_timeout"),
            "on_timeout: escalate needs an 'escalate:' ladder; add one or use on_timeout: deny",
        )
    if not compiled or decision is None or value.get("name") is None:
        return None
    mark = doc.v.mark(path)
    return Rule(
        index=index,
        name=value["name"],
        decision=decision,
        selector=Selector(
            tools=tuple(t for t in match.get("tool") or () if t),
            environments=tuple(t for t in match.get("environment") or () if t),
            agents=tuple(t for t in match.get("agent") or () if t),
            verbs=tuple(t for t in match.get("verb") or () if t),
            targets=tuple(t for t in match.get("target") or () if t),
        ),
        when=when,
        uses=variables_used(when) if when else frozenset(),
        environment_free=environment_free(when) if when else True,
        reads_effects_only=reads_effects_only(when) if when else True,
        owner=value.get("owner"),
        description=value.get("description"),
        reason=value.get("reason"),
        instructions=value.get("instructions"),
        approvals=tuple(approvals),
        source=f"{mark.file}:{mark.line}:{mark.col}",
    )
