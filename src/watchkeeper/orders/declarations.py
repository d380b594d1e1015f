"""Compiling the declarations in standing orders: tools (with their attributes) and agents.

A tool declaration becomes a :class:`ToolDecl` whose attributes are ``input.a.b`` paths or CEL
over ``input`` and ``action``, and whose ``analyze:`` fields name the input that carries code;
an agent becomes an :class:`Agent` whose charter limits are split into (tool, field) against the
tools the charter or the orders name.

A tool that looks like it carries code (its name, the fields it reads, or the input its policy
tests send) but names no field to analyze gets a warning: its SQL or commands would go unread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

from watchkeeper import dialects
from watchkeeper.decision import DecisionKind
from watchkeeper.errors import Issue
from watchkeeper.orders.cel import variables_used
from watchkeeper.orders.document import Compiler, Document
from watchkeeper.orders.model import (
    Agent,
    Attribute,
    Charter,
    CodeField,
    CodeKind,
    StandingOrders,
    ToolDecl,
)
from watchkeeper.orders.schema import RESERVED_ATTRIBUTES, TOOL_FIELDS
from watchkeeper.orders.source import Mark
from watchkeeper.orders.validate import Path

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


CODE_KINDS: tuple[CodeKind, ...] = ("sql", "shell", "terraform_plan")
_WHAT = {"sql": "SQL", "shell": "a shell command", "terraform_plan": "a Terraform plan"}
#: Words in a tool's name or its input's field names that usually mean code, and its kind.
CODE_WORDS: Mapping[str, CodeKind] = {
    "sql": "sql",
    "query": "sql",
    "statement": "sql",
    "statements": "sql",
    "command": "shell",
    "cmd": "shell",
    "script": "shell",
    "shell": "shell",
    "bash": "shell",
    "plan": "terraform_plan",
    "terraform": "terraform_plan",
}
_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_INPUT_MENTION = re.compile(r"\binput((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def _word_kind(word: str) -> CodeKind | None:
    word = word.lower()
    return CODE_WORDS.get(word) or ("sql" if "sql" in word else None)  # mysql, psql


def code_hint(decl: ToolDecl) -> tuple[CodeKind, str, str] | None:
    """Why ``decl`` looks like it carries code it does not name: (kind, why, example field).

    ``None`` when it names its code fields (or says ``analyze: {}``), or nothing suggests code.
    """
    if decl.code is not None:
        return None
    expressions = [a.expression for a in (decl.id, *decl.attributes) if a is not None]
    for text in expressions:
        for mention in _INPUT_MENTION.finditer(text):
            for part in mention.group(1).split(".")[1:]:
                kind = _word_kind(part)
                if kind is not None:
                    return kind, f"it reads input{mention.group(1)}", f"input{mention.group(1)}"
    for word in _NAME_WORDS.findall(decl.name):
        kind = _word_kind(word)
        if kind is not None:
            example = {"sql": "input.sql", "shell": "input.command"}.get(kind, "input.plan")
            return kind, f"its name says {word!r}", example
    return None


def _hint_message(name: str, kind: CodeKind, why: str, example: str) -> str:
    what = _WHAT[kind]
    return (
        f"tool {name!r} looks like it carries {what} ({why}), but its declaration names no "
        f"field to analyze, so that {what.removeprefix('a ')} is never read; name it, e.g. "
        f"`analyze: {{{kind}: {example}}}`, or write `analyze: {{}}` if the tool carries none"
    )


def code_hints(orders: StandingOrders, examples: Iterable[tuple[Any, Mark]]) -> list[Issue]:
    """Warnings for declared tools whose policy tests send code they do not name.

    ``examples`` are (action JSON, where it is written). Tools already warned about at load
    (by name or by the fields they read) are not warned about again.
    """
    out: list[Issue] = []
    warned: set[str] = set()
    for action, where in examples:
        if not isinstance(action, dict) or not isinstance(action.get("input"), dict):
            continue
        decl = orders.tools.get(str(action.get("tool")))
        if decl is None or decl.name in warned or decl.code is not None or code_hint(decl):
            continue
        for key in action["input"]:
            kind = _word_kind(str(key))
            if kind is not None:
                warned.add(decl.name)
                at = decl.where or where
                why = f"its test at {where.file}:{where.line}:{where.col} sends input.{key}"
                out.append(at.issue(_hint_message(decl.name, kind, why, f"input.{key}")))
                break
    return out


def _code(c: Compiler, i: int, base: Path, spec: Any) -> tuple[CodeField, ...] | None:
    """The ``analyze:`` fields of a tool; ``None`` when it has no ``analyze:`` key."""
    if not isinstance(spec, dict):
        return None
    v = c.docs[i].v
    at = (*base, "analyze")
    dialect = spec.get("dialect")
    if dialect is not None and not spec.get("sql"):
        v.error(
            (*at, "dialect"),
            "dialect applies to the sql fields, and none is named; "
            "add `sql: input.…` or remove the dialect",
            key=True,
        )
    out: list[CodeField] = []
    seen: dict[tuple[str, ...], str] = {}
    for kind in CODE_KINDS:
        paths = spec.get(kind)
        if paths is None:
            continue
        if not paths:
            v.error((*at, kind), f"an empty list names no field; name one or remove {kind!r}")
        for n, text in enumerate(paths):
            if text is None:  # reported by the schema
                continue
            path = tuple(text.split(".")[1:])
            if path in seen:
                v.error(
                    (*at, kind, n),
                    f"{text} is already named under {seen[path]!r}: a field holds one language; "
                    "name it once",
                )
                continue
            seen[path] = kind
            # Orders are checked against the accepted names: this maps one to sqlglot's.
            named = dialects.named(dialect) if kind == "sql" and dialect else None
            out.append(CodeField(kind, text, path, named))
    return tuple(out)


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
    decl = ToolDecl(
        name=name,
        verb=verb,
        target=value.get("target") or "unknown",
        scope=value.get("scope") or "one",
        reversible=reversible,
        recovery=value.get("recovery"),
        flags=frozenset(value.get("flags") or ()),
        id=ident,
        attributes=tuple(attributes),
        code=_code(c, i, base, value.get("analyze")),
        where=c.docs[i].v.mark(base, key=True),
    )
    hint = code_hint(decl)
    if hint is not None:
        c.docs[i].v.warn(base, _hint_message(name, *hint), key=True)
    return decl


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
