"""From validated documents to :class:`StandingOrders`: cross-references, CEL, the index.

Every problem is collected, never the first only: unknown groups, quorums larger than their group,
duplicate names, unknown environments, CEL that does not compile (with a caret under the error).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from watchkeeper.canonical import digest
from watchkeeper.models import RESTRICTIVENESS, ApprovalRequirement, DecisionKind, Escalation
from watchkeeper.orders.cel import CompileError, ConditionSet, compile_expression, variables_used
from watchkeeper.orders.index import RuleIndex
from watchkeeper.orders.model import (
    Agent,
    Attribute,
    Charter,
    Environment,
    Rule,
    Selector,
    StandingOrders,
    ToolDecl,
)
from watchkeeper.orders.schema import TOOL_FIELDS
from watchkeeper.orders.source import Mark, Node
from watchkeeper.orders.validate import Path, Validation, suggest

#: Effect fields an attribute may not be named after (conditions read them from the effect).
RESERVED_ATTRIBUTES = frozenset(
    {"environment", "count", "attributes", "analyzer", "span", "verb", "target", "flags"}
)
ATTRIBUTE_VARIABLES = frozenset({"input", "action"})
_INPUT_PATH = re.compile(r"input(\.[A-Za-z_][A-Za-z0-9_]*)+")
DEFAULT_TIMEOUT = 3600


@dataclass
class Document:
    """One validated YAML document and where its values were written."""

    data: dict[str, Any]
    v: Validation
    node: Node


def _cel_issue(err: CompileError, what: str) -> str:
    return f"{what} does not compile: {err.message}" + (f"\n{err.excerpt}" if err.excerpt else "")


def _expr_mark(node: Node | None, text: str, err: CompileError) -> Mark | None:
    """Where in the file the expression's error is: inside the YAML scalar when possible."""
    if node is None:
        return None
    lines = text.split("\n")
    index = sum(len(line) + 1 for line in lines[: err.line - 1]) + err.col - 1
    return node.position_of(index)


class _Compiler:
    def __init__(self, docs: Sequence[Document]):
        self.docs = docs

    def compile_cel(
        self, doc_i: int, path: Path, text: str, what: str, *, boolean: bool
    ) -> Any | None:
        doc = self.docs[doc_i]
        result = compile_expression(text, boolean=boolean)
        if isinstance(result, CompileError):
            mark = _expr_mark(doc.v.nodes.get(path), text, result) or doc.v.mark(path)
            doc.v.issues.append(mark.issue(_cel_issue(result, what)))
            return None
        return result


def _named(docs: Sequence[Document], section: str) -> list[tuple[int, str, Any]]:
    """(document index, name, value) for a named section across documents; flags duplicates."""
    seen: dict[str, Mark] = {}
    out = []
    for i, doc in enumerate(docs):
        for name, value in (doc.data.get(section) or {}).items():
            mark = doc.v.mark((section, name), key=True)
            if _first_use(
                doc, seen, name, mark, section[:-1], "give it another name or merge the two"
            ):
                out.append((i, name, value))
    return out


def _first_use(
    doc: Document, seen: dict[str, Mark], name: str, mark: Mark, what: str, fix: str
) -> bool:
    """Record ``name`` at ``mark``; if it was seen before, report the duplicate and say so."""
    first = seen.get(name)
    if first is None:
        seen[name] = mark
        return True
    where = f"{first.file}:{first.line}:{first.col}"
    doc.v.issues.append(mark.issue(f"duplicate {what} name {name!r} (first at {where}); {fix}"))
    return False


def compile_orders(docs: Sequence[Document], sources: Sequence[str]) -> StandingOrders | None:
    """Build standing orders; return ``None`` if any issue was recorded in the documents."""
    c = _Compiler(docs)
    environments = {
        name: Environment(
            name=name,
            default=cast(DecisionKind, value.get("default", "ask")),
            match={k: tuple(v) for k, v in (value.get("match") or {}).items()},
            description=value.get("description"),
        )
        for _, name, value in _named(docs, "environments")
        if value is not None
    }
    groups = {name: tuple(value or ()) for _, name, value in _named(docs, "groups")}
    env_names = list(environments)

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
        doc: Document, path: Path, name: str, quorum: int | None = None, at: Path | None = None
    ) -> None:
        if name not in groups:
            known = ", ".join(groups) or "none"
            doc.v.error(
                path,
                f"unknown group {name!r}{suggest(name, list(groups))}; declare it under "
                f"groups: (declared: {known})",
            )
        elif quorum is not None and quorum > len(groups[name]):
            doc.v.error(
                at or path,
                f"quorum {quorum} is larger than group {name!r}, which has "
                f"{len(groups[name])} member(s); lower the quorum or add members",
            )

    tools = {}
    for i, name, value in _named(docs, "tools"):
        if value is None:
            continue
        tools[name] = _tool(c, i, name, value)

    agents = {}
    for i, name, value in _named(docs, "agents"):
        if value is None:
            continue
        agents[name] = _agent(docs[i], name, value, check_env, set(tools))

    rules: list[Rule] = []
    first_rule: dict[str, Mark] = {}
    for i, doc in enumerate(docs):
        for r, value in enumerate(doc.data.get("rules") or []):
            if not isinstance(value, dict):
                continue
            path: Path = ("rules", r)
            rule_name = value.get("name")
            unique = rule_name is None or _first_use(
                doc,
                first_rule,
                rule_name,
                doc.v.mark((*path, "name")),
                "rule",
                "rule names must be unique so decisions can cite them",
            )
            # Check the whole rule even when it cannot be kept: no error hides another.
            rule = _rule(c, i, path, len(rules), value, check_env, check_group)
            if rule is not None and unique:
                rules.append(rule)

    if any(doc.v.issues for doc in docs):
        return None
    strictest_level = max((RESTRICTIVENESS[e.default] for e in environments.values()), default=0)
    return StandingOrders(
        environments=environments,
        groups=groups,
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
        strictest=tuple(
            n for n, e in environments.items() if RESTRICTIVENESS[e.default] == strictest_level
        ),
    )


def _attribute(c: _Compiler, doc_i: int, path: Path, name: str, text: str) -> Attribute | None:
    if _INPUT_PATH.fullmatch(text):
        return Attribute(name, text, tuple(text.split(".")[1:]), None)
    others = variables_used(text) - ATTRIBUTE_VARIABLES
    if others:
        c.docs[doc_i].v.error(
            path,
            f"attribute {name!r} may only use input and action, not {', '.join(sorted(others))}: "
            "it is computed before the decision",
        )
        return None
    program = c.compile_cel(doc_i, path, text, f"attribute {name!r}", boolean=False)
    return None if program is None else Attribute(name, text, None, program)


def _tool(c: _Compiler, i: int, name: str, value: dict[str, Any]) -> ToolDecl:
    base: Path = ("tools", name)
    attributes = []
    for key, text in value.items():
        if key in TOOL_FIELDS or text is None:
            continue
        if key in RESERVED_ATTRIBUTES:
            c.docs[i].v.error(
                (*base, key),
                f"{key!r} is an effect field set by watchkeeper, not an attribute; "
                "choose another name",
                key=True,
            )
            continue
        attr = _attribute(c, i, (*base, key), key, text)
        if attr is not None:
            attributes.append(attr)
    ident = None
    if value.get("id"):
        ident = _attribute(c, i, (*base, "id"), "id", value["id"])
    verb = value.get("verb") or "unknown"
    reversible = value.get("reversible") or ("yes" if verb == "read" else "unknown")
    return ToolDecl(
        name=name,
        verb=verb,
        target=value.get("target") or "unknown",
        scope=value.get("scope") or "one",
        reversible=reversible,
        recovery=value.get("recovery"),
        flags=frozenset(value.get("flags") or ()),
        id=ident,
        attributes=tuple(attributes),
    )


def _names(values: list[str | None] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(v for v in values if v is not None)


def _limit_key(key: str, known: set[str]) -> tuple[str, str] | None:
    """Split ``tool.field`` at the dot that leaves a known tool (tool names may hold dots)."""
    parts = key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        tool, fld = ".".join(parts[:cut]), ".".join(parts[cut:])
        if tool in known:
            return tool, fld
    return None


def _agent(
    doc: Document, name: str, value: dict[str, Any], check_env: Any, declared_tools: set[str]
) -> Agent:
    base: Path = ("agents", name)
    charter = None
    raw = value.get("charter")
    if raw is not None:
        limits: dict[tuple[str, str], float] = {}
        tools = raw.get("tools")
        if tools is not None:
            tools = [t for t in tools if t is not None]
        known = set(tools) if tools is not None else set(declared_tools)
        for key, bound in (raw.get("limits") or {}).items():
            path = (*base, "charter", "limits", key)
            split = _limit_key(key, known)
            if split is None:
                where = "this charter's tools" if tools is not None else "the declared tools:"
                listed = f"{where} ({', '.join(sorted(known)) or 'none'})"
                if "." not in key.strip("."):
                    problem = f"limit {key!r} must be written tool.field, e.g. refund.amount"
                else:
                    tool = key.split(".", 1)[0]
                    problem = (
                        f"limit {key!r} names tool {tool!r}, which is not in {listed}; "
                        "add the tool or remove the limit"
                    )
                doc.v.error(path, problem, key=True)
                continue
            if bound is not None:
                limits[split] = bound
        for e, env in enumerate(raw.get("environments") or []):
            if env is not None:
                check_env(doc, (*base, "charter", "environments", e), env)
        charter = Charter(
            tools=frozenset(tools) if tools is not None else None,
            environments=_names(raw.get("environments")),
            intents=_names(raw.get("intents")),
            limits=limits,
        )
    return Agent(
        name=name,
        owner=value.get("owner"),
        description=value.get("description"),
        charter=charter,
        outside_charter=cast(DecisionKind, value.get("outside_charter") or "ask"),
    )


def _rule(
    c: _Compiler,
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
            base = (*path, "approvers", a)
            quorum_at = (*base, "quorum") if "quorum" in spec else None
            check_group(doc, (*base, "group"), group, quorum, quorum_at)
        elif users and quorum > len(users):
            doc.v.error(
                (*path, "approvers", a, "quorum"),
                f"quorum {quorum} is larger than the {len(users)} listed user(s)",
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
        owner=value.get("owner"),
        description=value.get("description"),
        reason=value.get("reason"),
        instructions=value.get("instructions"),
        approvals=tuple(approvals),
        source=f"{mark.file}:{mark.line}:{mark.col}",
    )
