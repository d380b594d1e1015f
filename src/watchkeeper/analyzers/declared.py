"""Effects declared by the integrator in the standing orders (``tools:``).

``refund: {verb: transfer, target: money, amount: "input.amount"}`` makes every ``refund`` call
one ``transfer`` of ``money`` whose ``amount`` attribute is read from the input. Attribute
expressions that are plain ``input.a.b`` paths are read directly; others run as CEL. A missing
field or a failing expression fails the analysis, and so the decision, closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from watchkeeper.canonical import canonical_json
from watchkeeper.errors import AnalyzerError, UsageError
from watchkeeper.models import Action, Effect, Target
from watchkeeper.orders.cel import evaluate
from watchkeeper.orders.model import Attribute, ToolDecl


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

    def analyze(self, action: Action) -> Sequence[Effect]:
        """The one effect the declaration describes, its attributes computed from the input."""
        d = self.decl
        attributes = {a.name: _value(a, action, d.name) for a in d.attributes}
        ident = _value(d.id, action, d.name) if d.id is not None else None
        return [
            Effect(
                verb=d.verb,
                target=Target(d.target, None if ident is None else str(ident)),
                scope=d.scope,
                reversible=d.reversible,
                recovery=d.recovery,
                flags=d.flags,
                attributes=attributes,
                analyzer=self.name,
            )
        ]
