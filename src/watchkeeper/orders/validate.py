"""A small schema language for YAML nodes: validate, collect every error, document every key.

A schema is built from specs (``Str``, ``Int``, ``Enum``, ``ListOf``, ``Record``, ``MapOf``…).
``validate`` walks a :class:`~watchkeeper.orders.source.Node`, returns plain Python data and records
where each value came from, so later checks can still point at ``file:line:col``::

    spec = Record({"name": Field(Str(), required=True, help="The rule's unique name.")})
    result = Validation()
    data = result.check(node, spec)
    result.issues   # every problem, each naming the value and the fix
    result.mark(("name",))   # where data["name"] was written
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.errors import Issue
from watchkeeper.orders.source import Mark, Node
from watchkeeper.wording import seconds, suggest

Path = tuple[str | int, ...]


class Spec:
    """Base of all specs. ``doc`` is the type as the reference documentation shows it."""

    doc = "any"

    def check(self, node: Node, path: Path, v: Validation) -> Any:
        """Validate ``node`` at ``path``; return plain data, or ``None`` after recording why not."""
        return node.plain()


@dataclass
class Field:
    spec: Spec
    help: str
    required: bool = False
    default: Any = None


class AnyValue(Spec):
    """Any YAML value, taken as plain data."""

    doc = "any YAML value"


class Str(Spec):
    """A non-empty string, taken as written (``no`` stays ``'no'``), matching ``pattern``."""

    doc = "string"

    def __init__(self, *, pattern: str | None = None, hint: str = "") -> None:
        self.pattern = re.compile(pattern) if pattern else None
        self.hint = hint

    def check(self, node: Node, path: Path, v: Validation) -> Any:
        if node.kind != "scalar" or node.value is None:
            return v.fail(node, f"expected a string, got {node.describe()}")
        # YAML 1.1 reads `no`, `on`, `1.0` as booleans and numbers; a string field takes the text.
        text = node.text
        if not text:
            return v.fail(node, "expected a non-empty string")
        if self.pattern and not self.pattern.fullmatch(text):
            return v.fail(node, f"{text!r} is not valid here{self.hint}")
        return text


class Int(Spec):
    """An integer, optionally at least ``minimum``."""

    doc = "integer"

    def __init__(self, minimum: int | None = None) -> None:
        self.minimum = minimum
        if minimum is not None:
            self.doc = f"integer ≥ {minimum}"

    def check(self, node: Node, path: Path, v: Validation) -> Any:
        if node.kind != "scalar" or isinstance(node.value, bool) or not isinstance(node.value, int):
            return v.fail(node, f"expected an integer, got {node.describe()}")
        if self.minimum is not None and node.value < self.minimum:
            return v.fail(node, f"must be at least {self.minimum}, got {node.value}")
        return node.value


class Num(Spec):
    """A finite number."""

    doc = "number"

    def check(self, node: Node, path: Path, v: Validation) -> Any:
        value = node.value
        if node.kind != "scalar" or isinstance(value, bool) or not isinstance(value, int | float):
            return v.fail(node, f"expected a number, got {node.describe()}")
        if not math.isfinite(value):
            return v.fail(node, f"expected a finite number, got {node.text}")
        return value


class Bool(Spec):
    """``true`` or ``false``."""

    doc = "boolean"

    def check(self, node: Node, path: Path, v: Validation) -> Any:
        if node.kind != "scalar" or not isinstance(node.value, bool):
            return v.fail(node, f"expected true or false, got {node.describe()}")
        return node.value


class Enum(Spec):
    """One of ``choices``; a near miss is suggested."""

    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self.doc = " \\| ".join(f"`{c}`" for c in choices)

    def check(self, node: Node, path: Path, v: Validation) -> Any:
        text = node.text if node.kind == "scalar" else ""
        if text in self.choices:
            return text
        return v.fail(
            node,
            f"{node.describe()} is not one of {', '.join(self.choices)}"
            f"{suggest(text, self.choices)}",
        )


class Duration(Spec):
    """``90s``, ``30m``, ``2h``, ``1d``, ``1h30m``, taken as seconds."""

    doc = "duration (`90s`, `30m`, `2h`, `1d`, `1h30m`)"

    def __init__(self, *, zero: bool = False) -> None:
        #: Whether ``0s`` is a duration here (an offset from a start), not a mistake.
        self.zero = zero

    def check(self, node: Node, path: Path, v: Validation) -> Any:
        text = node.text if node.kind == "scalar" else ""
        found = seconds(text) if text else None
        if found is None:
            return v.fail(
                node, f"{node.describe()} is not a duration; write it like 90s, 30m, 2h or 1d"
            )
        if found < 0 or (found == 0 and not self.zero):
            return v.fail(node, f"duration {text!r} must be longer than zero")
        return found


class ListOf(Spec):
    """A list of ``item``; a single value is accepted as a list of one."""

    def __init__(self, item: Spec) -> None:
        self.item = item
        self.doc = f"{item.doc}, or a list of them"

    def check(self, node: Node, path: Path, v: Validation) -> Any:
        if node.kind != "seq":
            return [self.item.check(node, (*path, 0), v)]
        out = []
        for i, child in enumerate(node.items()):
            v.record((*path, i), child)
            out.append(self.item.check(child, (*path, i), v))
        return out


class Record(Spec):
    """A mapping with known keys; an unknown key is an error that suggests the closest one."""

    def __init__(
        self,
        fields: dict[str, Field],
        doc: str = "mapping",
        extra: Spec | None = None,
        not_typos: frozenset[str] = frozenset(),
    ) -> None:
        self.fields = fields
        self.doc = doc
        #: Spec for keys of the user's own; a key close to a known one is still a typo…
        self.extra = extra
        #: …unless it is one of these, which are the user's own keys whatever they resemble.
        self.not_typos = not_typos

    def check(self, node: Node, path: Path, v: Validation) -> Any:
        if node.kind != "map":
            return v.fail(
                node,
                f"expected a mapping with keys {', '.join(self.fields)}; got {node.describe()}",
            )
        out: dict[str, Any] = {}
        suggested: set[str] = set()
        for key, value in node.pairs():
            name = key.text
            spec = self.fields.get(name)
            if spec is None:
                hint = "" if name in self.not_typos else suggest(name, list(self.fields))
                suggested.update(f for f in self.fields if hint == f"; did you mean {f!r}?")
                if self.extra is None or hint:
                    v.fail(key, f"unknown key {name!r}{hint or self._known()}")
                    continue
                v.record((*path, name), value, key)
                out[name] = self.extra.check(value, (*path, name), v)
                continue
            v.record((*path, name), value, key)
            out[name] = spec.spec.check(value, (*path, name), v)
        for name, spec in self.fields.items():
            if name not in out:
                if spec.required and name not in suggested:  # a typo of it was reported
                    example = " | ".join(spec.spec.choices) if isinstance(spec.spec, Enum) else "…"
                    v.fail(
                        node,
                        f"missing required key {name!r} ({spec.help.rstrip('.')}); "
                        f"add `{name}: {example}`",
                    )
                elif spec.default is not None:
                    out[name] = spec.default
        return out

    def _known(self) -> str:
        return _known_keys(self.fields)


class MapOf(Spec):
    """A mapping with free keys (names the user chooses) and values of one spec."""

    def __init__(self, value: Spec, key: Str | None = None, doc: str | None = None) -> None:
        self.value = value
        self.key = key or Str()
        self.doc = doc or f"mapping of name → {value.doc}"

    def check(self, node: Node, path: Path, v: Validation) -> Any:
        if node.kind != "map":
            return v.fail(node, f"expected a mapping of names, got {node.describe()}")
        out: dict[str, Any] = {}
        for key, value in node.pairs():
            name = self.key.check(key, path, v)
            if name is None:
                continue
            v.record((*path, name), value, key)
            out[name] = self.value.check(value, (*path, name), v)
        return out


def _known_keys(fields: dict[str, Field]) -> str:
    return f"; known keys: {', '.join(fields)}"


@dataclass
class Validation:
    """Collects issues and the marks of every validated value."""

    issues: list[Issue] = field(default_factory=list)
    #: Things that load but are probably not what was meant (a name close to a declared one).
    warnings: list[Issue] = field(default_factory=list)
    marks: dict[Path, Mark] = field(default_factory=dict)
    key_marks: dict[Path, Mark] = field(default_factory=dict)
    nodes: dict[Path, Node] = field(default_factory=dict)

    def check(self, node: Node, spec: Spec, path: Path = ()) -> Any:
        """Validate a whole document against ``spec``."""
        self.record(path, node)
        return spec.check(node, path, self)

    def fail(self, node: Node, message: str) -> None:
        """Record that ``node`` is wrong, and why."""
        self.issues.append(node.mark.issue(message))

    def record(self, path: Path, node: Node, key: Node | None = None) -> None:
        """Remember where the value at ``path`` (and its key) was written."""
        self.marks[path] = node.mark
        self.nodes[path] = node
        if key is not None:
            self.key_marks[path] = key.mark

    def mark(self, path: Path, *, key: bool = False) -> Mark:
        """Where ``path`` was written (its key with ``key=True``); falls back to the parent."""
        table = self.key_marks if key else self.marks
        probe = path
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.marks:
                return self.marks[probe]
            probe = probe[:-1]
        return self.marks.get((), Mark("<orders>", 1, 1))

    def warn(self, path: Path, message: str, *, key: bool = False) -> None:
        """Record something that loads but is probably a mistake (at its key with ``key``)."""
        self.warnings.append(self.mark(path, key=key).issue(message))

    def error(self, path: Path, message: str, *, key: bool = False) -> None:
        """Record a problem at the value (or key) written at ``path``."""
        self.issues.append(self.mark(path, key=key).issue(message))


def reference(spec: Spec, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """Rows of (key path, type, required/default, help) for every key, for the documentation."""
    rows: list[tuple[str, str, str, str]] = []
    if isinstance(spec, ListOf):
        return reference(spec.item, prefix + "[]")
    if isinstance(spec, MapOf):
        return reference(spec.value, prefix + ".<name>")
    if isinstance(spec, Record):
        for name, fld in spec.fields.items():
            key = f"{prefix}.{name}" if prefix else name
            need = (
                "required" if fld.required else ("" if fld.default is None else f"`{fld.default}`")
            )
            rows.append((key, fld.spec.doc, need, fld.help))
            rows.extend(reference(fld.spec, key))
    return rows
