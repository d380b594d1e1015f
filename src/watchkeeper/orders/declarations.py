"""Compiling the declarations in standing orders: tools (with their attributes) and agents.

A tool declaration becomes a :class:`ToolDecl` whose attributes are ``input.a.b`` paths or CEL
over ``input`` and ``action``; an agent becomes an :class:`Agent` whose charter limits are split
into (tool, field) against the tools the charter or the orders name.
"""

from __future__ import annotations

import re
from typing import Any, cast

from watchkeeper.decision import DecisionKind
from watchkeeper.orders.cel import variables_used
from watchkeeper.orders.document import Compiler, Document
from watchkeeper.orders.model import Agent, Attribute, Charter, ToolDecl
from watchkeeper.orders.schema import TOOL_FIELDS
from watchkeeper.orders.validate import Path

#: Effect fields an attribute may not be named after (conditions read them from the effect).
RESERVED_ATTRIBUTES = frozenset(
    {"environment", "count", "attributes", "analyzer", "span", "verb", "target", "flags"}
)
ATTRIBUTE_VARIABLES = frozenset({"input", "action"})
_INPUT_PATH = re.compile(r"input(\.[A-Za-z_][A-Za-z0-9_]*)+")


def _attribute(c: Compiler, doc_i: int, path: Path, name: str, text: str) -> Attribute | None:
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


def compile_tool(c: Compiler, i: int, name: str, value: dict[str, Any]) -> ToolDecl:
    """A tool declaration, its attributes compiled (errors go to the document)."""
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


def compile_agent(
    doc: Document, name: str, value: dict[str, Any], check_env: Any, declared_tools: set[str]
) -> Agent:
    """An agent and its charter; malformed limits are reported, not kept."""
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
