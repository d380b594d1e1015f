"""Effects declared by the integrator in the standing orders (``tools:``).

``refund: {verb: transfer, target: money, amount: "input.amount"}`` makes every ``refund`` call
one ``transfer`` of ``money`` whose ``amount`` attribute is read from the input. Attribute
expressions that are plain ``input.a.b`` paths are read directly; others run as CEL. A missing
field or a failing expression fails the analysis, and so the decision, closed.

A tool whose input carries code names those fields, and the analyzer of each language reads
them: ``db_query: {verb: read, target: db_rows, analyze: {sql: input.sql}}`` is a ``read`` *and*
whatever the SQL does (a ``DROP TABLE`` is a ``delete``), each effect's span in ``sql``. Both
sets of effects count, so the declaration cannot hide what the code does, nor the code what
the declaration says. A named field that is missing, or not what its language needs, fails
the decision closed: the declaration promises code there, and unread code is not allowed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from watchkeeper.analyzers import lazy, shell, terraform
from watchkeeper.analyzers.paths import path_flags
from watchkeeper.canonical import canonical_json
from watchkeeper.errors import AnalyzerError, UsageError
from watchkeeper.models import Action, Effect, Span, Target
from watchkeeper.orders.cel import evaluate
from watchkeeper.orders.model import Attribute, CodeField, ToolDecl

_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), "a number")


def _code(field: CodeField, action: Action, tool: str) -> list[Effect]:
    """What the code in one declared field does, as the analyzer of its language reads it."""
    value: Any = action.input
    for part in field.path:
        if not isinstance(value, dict) or part not in value:
            raise AnalyzerError(
                f"tool {tool!r} declares analyze: {{{field.kind}: {field.expression}}}, but the "
                f"input has no {field.field!r}; the code it carries cannot be read"
            )
        value = value[part]
    if field.kind == "sql" and isinstance(value, str):
        dialect = field.dialect or "postgres"
        return lazy.statements(value, dialect, Span(field.field, 0, len(value)))
    if field.kind == "shell":
        if isinstance(value, str):
            return shell.analyze(value, field.field)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return shell.analyze(" ".join(shell.shlex_quote(v) for v in value), field.field)
    if field.kind == "terraform_plan":
        plan = value
        if isinstance(value, str):  # a plan passed as the text `terraform show -json` prints
            try:
                plan = json.loads(value)
            except (ValueError, RecursionError):
                plan = None
        if isinstance(plan, dict):
            return terraform.plan_effects(plan, field.field)
    needs = {
        "sql": "a string of SQL",
        "shell": "a command line (a string, or a list of strings)",
        "terraform_plan": "a plan (a JSON object, or a string of one)",
    }[field.kind]
    raise AnalyzerError(
        f"tool {tool!r} declares {field.expression} as {field.kind}, but it is "
        f"{_kind_of(value)}, not {needs}; the code it carries cannot be read"
    )


def _value(attr: Attribute, action: Action, tool: str) -> Any:
    if attr.path is not None:
        value: Any = action.input
        for part in attr.path:
            if not isinstance(value, dict) or part not in value:
                raise AnalyzerError(
                    f"tool {tool!r} declares {attr.name}: {attr.expression}, but the input has "
                    f"no {'.'.join(attr.path)!r}"
                )
            value = value[part]
        return value
    ok, value = evaluate(attr.program, {"input": action.input, "action": action.to_json()})
    if not ok:
        raise AnalyzerError(f"tool {tool!r} attribute {attr.name} ({attr.expression}): {value}")
    try:
        canonical_json(value)
    except UsageError as exc:
        raise AnalyzerError(
            f"tool {tool!r} attribute {attr.name} ({attr.expression}) is a "
            f"{type(value).__name__}, not a JSON value: {exc}"
        ) from exc
    return value


class DeclaredToolAnalyzer:
    """Analyzes one tool from its declaration in the standing orders."""

    def __init__(self, decl: ToolDecl) -> None:
        self.decl = decl
        self.name = f"declared:{decl.name}"
        #: The orders may name a target kind of their own (``target: order``); their rules
        #: select it by that name.
        self.target_kinds = frozenset({decl.target})

    def analyze(self, action: Action) -> Sequence[Effect]:
        """The effect the declaration describes, its attributes computed from the input, then
        the effects of the code in every field it names."""
        d = self.decl
        attributes = {a.name: _value(a, action, d.name) for a in d.attributes}
        ident = _value(d.id, action, d.name) if d.id is not None else None
        flags = d.flags
        if d.target in ("file", "directory") and isinstance(ident, str):
            # A file tool reading ~/.aws/credentials reads credentials, as `cat` would.
            flags = flags | {f for f in path_flags(ident) if f == "credential_access"}
        declared = Effect(
            verb=d.verb,
            target=Target(d.target, None if ident is None else str(ident)),
            scope=d.scope,
            reversible=d.reversible,
            recovery=d.recovery,
            flags=flags,
            attributes=attributes,
            analyzer=self.name,
        )
        return [declared, *(e for f in d.code or () for e in _code(f, action, d.name))]
